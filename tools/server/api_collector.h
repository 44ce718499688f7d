// ApiCollector: what keel serve's API did, as Prometheus metrics: the
// remote-write counters keel_remote_write_requests_total,
// keel_remote_write_failures_total, keel_remote_write_samples_total,
// keel_remote_write_rejected_samples_total{reason} (see WriteRejection),
// keel_remote_write_throttled_total, keel_remote_write_decoded_bytes and
// keel_remote_write_decoded_budget_bytes, the queries stopped,
// keel_queries_stopped_total{reason="timeout|canceled|limit"}, and the HTTP
// server's keel_http_limit_rejections_total{kind},
// keel_http_read_timeouts_total and keel_http_unauthorized_total. (The
// requests and their latencies per handler are HttpMetrics'.)
//
//   metrics.Add(std::make_shared<ApiCollector>(&prom_api, &http_server));
//
// Thread safety: Collect may run on any thread.
// REQUIRES: the PromApi and the HttpServer outlive the collector.
#ifndef KEEL_TOOLS_SERVER_API_COLLECTOR_H_
#define KEEL_TOOLS_SERVER_API_COLLECTOR_H_

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "tools/server/http_server.h"
#include "tools/server/prom_api.h"

namespace keel::tools {

class ApiCollector : public prometheus::Collectable {
 public:
  ApiCollector(const PromApi* prom_api, const HttpServer* http)
      : prom_api_(prom_api), http_(http) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const PromApi* prom_api_;
  const HttpServer* http_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_API_COLLECTOR_H_
