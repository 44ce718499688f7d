#include "tools/server/build_info_collector.h"

#include "diagnostics/metric_builder.h"
#include "keel_build_info.h"

namespace keel::tools {

std::vector<prometheus::MetricFamily> BuildInfoCollector::Collect() const {
  diagnostics::MetricBuilder b;
  b.Gauge("keel_build_info",
          "A metric with a constant '1' value labeled by the version and git "
          "revision keel was built from.")
      .Add(1, {{"revision", kRevision}, {"version", kVersion}});
  return b.Take();
}

}  // namespace keel::tools
