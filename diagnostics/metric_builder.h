// MetricBuilder: assembles prometheus::MetricFamily values for collectors
// that compute their figures at scrape time.
//
//   MetricBuilder b;
//   b.Gauge("keel_series", "Live series.").Add(store.Stats().series);
//   b.Counter("keel_x_total", "...").Add(n, {{"arena", "all"}});
//   return b.Take();
//
// Thread safety: none; build within one Collect call.
#ifndef KEEL_DIAGNOSTICS_METRIC_BUILDER_H_
#define KEEL_DIAGNOSTICS_METRIC_BUILDER_H_

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"

namespace keel::diagnostics {

class MetricBuilder {
 public:
  class Family {
   public:
    // Adds one sample with the given labels.
    Family& Add(double value,
                std::vector<std::pair<std::string, std::string>> labels = {});

   private:
    friend class MetricBuilder;
    explicit Family(prometheus::MetricFamily* family) : family_(family) {}
    prometheus::MetricFamily* family_;
  };

  Family Gauge(std::string name, std::string help);
  Family Counter(std::string name, std::string help);

  // The families built so far; the builder is empty afterwards.
  std::vector<prometheus::MetricFamily> Take();

 private:
  Family Start(std::string name, std::string help, prometheus::MetricType type);
  // A deque, so that a Family stays valid while later ones start.
  std::deque<prometheus::MetricFamily> families_;
};

}  // namespace keel::diagnostics

#endif  // KEEL_DIAGNOSTICS_METRIC_BUILDER_H_
