// Labels: the identity of a time series, a set of name="value" pairs with the
// metric name under "__name__", as in Prometheus.
//
// Build a Labels in any order and hand it to NormalizeLabels, which sorts it
// by name, drops pairs whose value is empty (Prometheus treats `l=""` as an
// absent label) and checks it against the limits:
//
//   keel::core::Labels labels = {{"__name__", "up"}, {"job", "node"}};
//   absl::Status s = keel::core::NormalizeLabels(labels, LabelLimits());
//   LabelsToString(labels);   // up{job="node"}
//
// Thread safety: plain values; NormalizeLabels and LabelsToString are pure.
#ifndef KEEL_CORE_SERIES_LABELS_H_
#define KEEL_CORE_SERIES_LABELS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/utf8.h"  // IsValidUtf8, for the values

namespace keel::core {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string name;
  std::string value;

  friend bool operator==(const Label&, const Label&) = default;
};

// Sorted by name, names unique, once normalized.
using Labels = std::vector<Label>;

struct LabelLimits {
  std::size_t max_labels = 64;         // pairs per series, __name__ included
  std::size_t max_name_bytes = 256;    // per label name
  std::size_t max_value_bytes = 4096;  // per label value
};

// Sorts `labels` by name, drops empty values, then checks: names match
// [a-zA-Z_][a-zA-Z0-9_]*, the metric name (if any) matches
// [a-zA-Z_:][a-zA-Z0-9_:]*, values are valid UTF-8, no name repeats, and the
// limits hold. On error `labels` may be reordered but keeps every pair.
absl::Status NormalizeLabels(Labels& labels, const LabelLimits& limits);

// True if `name` is a valid label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view name);
// True if `name` is a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsValidMetricName(std::string_view name);

// `name{a="x",b="y"}` with values escaped as in the text format (\\, \", \n);
// `{...}` when there is no metric name.
std::string LabelsToString(const Labels& labels);

}  // namespace keel::core

#endif  // KEEL_CORE_SERIES_LABELS_H_
