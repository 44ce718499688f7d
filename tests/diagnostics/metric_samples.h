// Reading collected metric families back in the diagnostics tests: the
// family by name, and one sample's value by the labels it carries.
#ifndef KEEL_TESTS_DIAGNOSTICS_METRIC_SAMPLES_H_
#define KEEL_TESTS_DIAGNOSTICS_METRIC_SAMPLES_H_

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"

namespace keel::diagnostics {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

inline const prometheus::MetricFamily* FindFamily(
    const std::vector<prometheus::MetricFamily>& families,
    const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The value of the sample of family `name` that carries every label in
// `labels` (other labels may be present); fails the test when none does.
inline double SampleValue(const std::vector<prometheus::MetricFamily>& families,
                          const std::string& name,
                          const MetricLabels& labels = {}) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) FAIL("no metric " << name);
  for (const auto& m : family->metric) {
    size_t matched = 0;
    for (const auto& [label, value] : labels) {
      for (const auto& l : m.label)
        matched += l.name == label && l.value == value;
    }
    if (matched == labels.size()) {
      return family->type == prometheus::MetricType::Counter ? m.counter.value
                                                             : m.gauge.value;
    }
  }
  FAIL("no sample of " << name << " with the labels asked for");
  return 0;
}

}  // namespace keel::diagnostics

#endif  // KEEL_TESTS_DIAGNOSTICS_METRIC_SAMPLES_H_
