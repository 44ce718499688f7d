#include "tools/server/api_collector.h"

#include <string>

#include "diagnostics/metric_builder.h"

namespace keel::tools {

std::vector<prometheus::MetricFamily> ApiCollector::Collect() const {
  diagnostics::MetricBuilder b;
  b.Counter("keel_remote_write_requests_total",
            "Remote-write requests received.")
      .Add(static_cast<double>(prom_api_->write_requests()));
  b.Counter("keel_remote_write_failures_total",
            "Remote-write requests answered with an error.")
      .Add(static_cast<double>(prom_api_->write_failures()));
  b.Counter("keel_remote_write_samples_total",
            "Samples stored from remote-write requests.")
      .Add(static_cast<double>(prom_api_->samples_written()));
  auto rejected =
      b.Counter("keel_remote_write_rejected_samples_total",
                "Remote-write samples not stored, by reason (see PromApi).");
  for (int i = 0; i < kWriteRejections; ++i) {
    auto reason = static_cast<WriteRejection>(i);
    rejected.Add(static_cast<double>(prom_api_->RejectedSamples(reason)),
                 {{"reason", std::string(WriteRejectionName(reason))}});
  }
  b.Counter("keel_remote_write_throttled_total",
            "Remote-write requests answered 503: no room in the decoded "
            "budget in time.")
      .Add(static_cast<double>(prom_api_->writes_throttled()));
  b.Gauge("keel_remote_write_decoded_bytes",
          "Decoded bytes that remote-write requests in flight hold.")
      .Add(static_cast<double>(prom_api_->decoded_budget().in_use()));
  b.Gauge("keel_remote_write_decoded_budget_bytes",
          "The most decoded bytes remote-write requests may hold at once.")
      .Add(static_cast<double>(prom_api_->decoded_budget().capacity()));
  b.Counter("keel_queries_stopped_total",
            "Queries stopped: at the query timeout, canceled because the "
            "client went away, or over the sample or result byte limit.")
      .Add(static_cast<double>(prom_api_->queries_timed_out()),
           {{"reason", "timeout"}})
      .Add(static_cast<double>(prom_api_->queries_canceled()),
           {{"reason", "canceled"}})
      .Add(static_cast<double>(prom_api_->queries_over_limits()),
           {{"reason", "limit"}});
  auto rejections = b.Counter(
      "keel_http_limit_rejections_total",
      "Requests answered 503 because their kind was at its concurrency limit.");
  for (RequestKind kind : {RequestKind::kWrite, RequestKind::kQuery}) {
    rejections.Add(static_cast<double>(http_->LimitRejections(kind)),
                   {{"kind", std::string(RequestKindName(kind))}});
  }
  b.Counter("keel_http_read_timeouts_total",
            "Requests dropped because their body did not arrive within the "
            "read timeout.")
      .Add(static_cast<double>(http_->read_timeouts()));
  b.Counter("keel_http_unauthorized_total",
            "Requests answered 401 for a missing or wrong bearer token.")
      .Add(static_cast<double>(http_->unauthorized()));
  return b.Take();
}

}  // namespace keel::tools
