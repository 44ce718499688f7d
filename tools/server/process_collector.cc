#include "tools/server/process_collector.h"

#include <chrono>
#include <string>

#include "alloc/stats.h"
#include "diagnostics/metric_builder.h"

namespace keel::tools {

ProcessCollector::ProcessCollector(const PromApi* prom_api,
                                   const HttpServer* http)
    : prom_api_(prom_api),
      http_(http),
      start_time_seconds_(
          std::chrono::duration<double>(
              std::chrono::system_clock::now().time_since_epoch())
              .count()) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  diagnostics::MetricBuilder b;
  b.gauge("keel_process_resident_bytes",
          "Resident set size of the process, from /proc/self/statm.")
      .add(static_cast<double>(alloc::ProcessRssBytes()));
  b.gauge("keel_process_start_time_seconds",
          "When the server started, Unix seconds.")
      .add(start_time_seconds_);
  b.counter("keel_remote_write_requests_total",
            "Remote-write requests received.")
      .add(static_cast<double>(prom_api_->write_requests()));
  b.counter("keel_remote_write_failures_total",
            "Remote-write requests answered with an error.")
      .add(static_cast<double>(prom_api_->write_failures()));
  b.counter("keel_remote_write_samples_total",
            "Samples stored from remote-write requests.")
      .add(static_cast<double>(prom_api_->samples_written()));
  auto rejected =
      b.counter("keel_remote_write_rejected_samples_total",
                "Remote-write samples not stored, by reason (see PromApi).");
  for (int i = 0; i < kWriteRejections; ++i) {
    auto reason = static_cast<WriteRejection>(i);
    rejected.add(static_cast<double>(prom_api_->rejected_samples(reason)),
                 {{"reason", std::string(WriteRejectionName(reason))}});
  }
  b.counter("keel_remote_write_throttled_total",
            "Remote-write requests answered 503: no room in the decoded "
            "budget in time.")
      .add(static_cast<double>(prom_api_->writes_throttled()));
  b.gauge("keel_remote_write_decoded_bytes",
          "Decoded bytes that remote-write requests in flight hold.")
      .add(static_cast<double>(prom_api_->decoded_budget().in_use()));
  b.gauge("keel_remote_write_decoded_budget_bytes",
          "The most decoded bytes remote-write requests may hold at once.")
      .add(static_cast<double>(prom_api_->decoded_budget().capacity()));
  b.counter("keel_queries_stopped_total",
            "Queries stopped: at the query timeout, canceled because the "
            "client went away, or over the sample or result byte limit.")
      .add(static_cast<double>(prom_api_->queries_timed_out()),
           {{"reason", "timeout"}})
      .add(static_cast<double>(prom_api_->queries_canceled()),
           {{"reason", "canceled"}})
      .add(static_cast<double>(prom_api_->queries_over_limits()),
           {{"reason", "limit"}});
  auto rejections = b.counter(
      "keel_http_limit_rejections_total",
      "Requests answered 503 because their kind was at its concurrency limit.");
  for (RequestKind kind : {RequestKind::kWrite, RequestKind::kQuery}) {
    rejections.add(static_cast<double>(http_->limit_rejections(kind)),
                   {{"kind", std::string(RequestKindName(kind))}});
  }
  b.counter("keel_http_read_timeouts_total",
            "Requests dropped because their body did not arrive within the "
            "read timeout.")
      .add(static_cast<double>(http_->read_timeouts()));
  b.counter("keel_http_unauthorized_total",
            "Requests answered 401 for a missing or wrong bearer token.")
      .add(static_cast<double>(http_->unauthorized()));
  return b.take();
}

}  // namespace keel::tools
