// HttpMetrics: every answer keel serve's HttpServer sends, as
// keel_http_requests_total{handler,code} and the histogram
// keel_http_request_duration_seconds{handler} (from the request's dispatch
// to its answer written). `handler` is the route pattern
// ("/api/v1/label/{}/values"), or "other" for a path no route has, so the
// label set stays bounded whatever clients ask; `code` is the status sent,
// refusals included (401, 404, 405, 413, the 503 of a concurrency limit or
// of a server still starting).
//
//   HttpMetrics metrics;
//   HttpMetrics::Handler* h = metrics.ForHandler("/v1/lookup");  // Route
//   metrics.Record(h, 200, 0.0004);                              // Serve
//   registry.Add(shared_metrics);  // a prometheus::Collectable
//
// Buckets: 0.5 ms to 2 min, as keel's answers range from a lookup of one
// address to a query at the default query timeout.
//
// Thread safety: Record and Collect may run on any threads at once (Record
// takes no lock); ForHandler takes a lock and may run at any time.
#ifndef KEEL_TOOLS_SERVER_HTTP_METRICS_H_
#define KEEL_TOOLS_SERVER_HTTP_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keel::tools {

class HttpMetrics : public prometheus::Collectable {
 public:
  static constexpr std::array<double, 17> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
      0.5,    1,     2.5,    5,     10,   30,    60,   120};
  // Status codes 100 to 599, one counter each (a code outside, which no
  // handler sends, is clamped into the range).
  static constexpr int kFirstCode = 100;
  static constexpr int kCodes = 500;

  // One handler's counts; its address is stable for the metrics' life.
  struct Handler {
    explicit Handler(std::string name) : name(std::move(name)) {}
    const std::string name;
    std::array<std::atomic<uint64_t>, kCodes> codes{};
    // Not cumulative; the last one is above every bound (+Inf).
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<uint64_t> sum_ns{0};
  };

  HttpMetrics();

  // The handler named `name`, made on its first call. "other" is the one
  // for paths without a route.
  Handler* ForHandler(std::string_view name);
  Handler* other() { return other_; }

  static void Record(Handler* handler, int code, double seconds);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mu_;
  std::deque<Handler> handlers_ ABSL_GUARDED_BY(mu_);  // stable addresses
  absl::flat_hash_map<std::string, Handler*> by_name_ ABSL_GUARDED_BY(mu_);
  Handler* other_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_HTTP_METRICS_H_
