#include "tools/server/http_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace keel::tools {

HttpMetrics::HttpMetrics() : other_(ForHandler("other")) {}

HttpMetrics::Handler* HttpMetrics::ForHandler(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(absl::string_view(name.data(), name.size()));
  if (it != by_name_.end()) return it->second;
  Handler* handler = &handlers_.emplace_back(std::string(name));
  by_name_.emplace(handler->name, handler);
  return handler;
}

void HttpMetrics::Record(Handler* handler, int code, double seconds) {
  code = std::clamp(code, kFirstCode, kFirstCode + kCodes - 1);
  handler->codes[code - kFirstCode].fetch_add(1, std::memory_order_relaxed);
  size_t bucket =
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) -
      kBuckets.begin();  // the first bound >= seconds: `le` semantics
  handler->buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  handler->sum_ns.fetch_add(
      static_cast<uint64_t>(std::llround(std::max(0.0, seconds) * 1e9)),
      std::memory_order_relaxed);
}

std::vector<prometheus::MetricFamily> HttpMetrics::Collect() const {
  prometheus::MetricFamily requests{
      "keel_http_requests_total",
      "HTTP requests answered, by handler (the route pattern, or other) and "
      "status code.",
      prometheus::MetricType::Counter,
      {}};
  prometheus::MetricFamily durations{
      "keel_http_request_duration_seconds",
      "Seconds from a request's dispatch to its answer written, by handler.",
      prometheus::MetricType::Histogram,
      {}};
  std::lock_guard lock(mu_);
  for (const Handler& h : handlers_) {
    for (int i = 0; i < kCodes; ++i) {
      uint64_t n = h.codes[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      prometheus::ClientMetric m;
      m.label = {{"code", absl::StrCat(kFirstCode + i)}, {"handler", h.name}};
      m.counter.value = static_cast<double>(n);
      requests.metric.push_back(std::move(m));
    }
    prometheus::ClientMetric m;
    m.label = {{"handler", h.name}};
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i].load(std::memory_order_relaxed);
      m.histogram.bucket.push_back(
          {cumulative, i < kBuckets.size()
                           ? kBuckets[i]
                           : std::numeric_limits<double>::infinity()});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum =
        static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9;
    durations.metric.push_back(std::move(m));
  }
  return {std::move(requests), std::move(durations)};
}

}  // namespace keel::tools
