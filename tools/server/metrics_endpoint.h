// MetricsEndpoint: GET /metrics, the Prometheus text exposition (0.0.4) of
// every registered collector, serialised with prometheus-cpp's
// TextSerializer at each scrape.
//
//   MetricsEndpoint metrics;
//   metrics.Add(std::make_shared<diagnostics::AllocCollector>());
//   metrics.Register(&http_server);
//
// Collectors may be added while the server answers (keel serve adds the
// store's once it is restored): a scrape shows those added before it.
//
// Thread safety: every method may run on any thread.
#ifndef KEEL_TOOLS_SERVER_METRICS_ENDPOINT_H_
#define KEEL_TOOLS_SERVER_METRICS_ENDPOINT_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "tools/server/http_server.h"

namespace keel::tools {

class MetricsEndpoint {
 public:
  void Add(std::shared_ptr<prometheus::Collectable> collector);
  void Register(HttpServer* server);
  // Every collector's families, in the order added.
  std::vector<prometheus::MetricFamily> Collect() const;
  // The exposition text of Collect().
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectors_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_METRICS_ENDPOINT_H_
