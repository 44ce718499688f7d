#include "keel/tools/server/process_collector.h"

#include <chrono>

#include "keel/alloc/stats.h"
#include "keel/diagnostics/metric_builder.h"

namespace keel::tools {

ProcessCollector::ProcessCollector(const PromApi* prom_api)
    : prom_api_(prom_api),
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
  return b.take();
}

}  // namespace keel::tools
