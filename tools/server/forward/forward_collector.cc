#include "tools/server/forward/forward_collector.h"

#include <string>
#include <utility>

#include "diagnostics/metric_builder.h"

namespace keel::tools {

std::vector<prometheus::MetricFamily> ForwardCollector::Collect() const {
  diagnostics::MetricBuilder b;
  auto sent = b.Counter("keel_remote_storage_samples_total",
                        "Samples the remote-write destination acknowledged.");
  auto bytes = b.Counter(
      "keel_remote_storage_bytes_total",
      "Compressed bytes of the batches the destination acknowledged.");
  auto failed = b.Counter(
      "keel_remote_storage_failed_samples_total",
      "Samples the destination refused for good (4xx other than 429): "
      "dropped.");
  auto retried =
      b.Counter("keel_remote_storage_retried_samples_total",
                "Samples sent again after a 5xx, a 429 or no answer.");
  auto pending =
      b.Gauge("keel_remote_storage_samples_pending",
              "Samples in the queue the destination has not acknowledged.");
  auto highest_sent = b.Gauge(
      "keel_remote_storage_queue_highest_sent_timestamp_seconds",
      "Newest timestamp among the samples the destination acknowledged.");
  auto shards = b.Gauge("keel_remote_storage_shards",
                        "Parallel senders to the destination.");
  auto records_read = b.Counter(
      "keel_remote_storage_queue_records_read_total",
      "Queue records the destination's shards read, each its own series.");
  auto records_loaded =
      b.Counter("keel_remote_storage_queue_records_loaded_total",
                "Queue records read from disk and split for the shards: about "
                "records read / shards while the shards share each load, up to "
                "records read when they fall too far apart for the cache.");
  for (const auto& sender : forwarder_->senders()) {
    const RemoteWriteDestination& d = sender->destination();
    std::vector<std::pair<std::string, std::string>> labels = {
        {"remote_name", d.name}, {"url", d.url}};
    sent.Add(static_cast<double>(sender->sent_samples()), labels);
    bytes.Add(static_cast<double>(sender->sent_bytes()), labels);
    failed.Add(static_cast<double>(sender->failed_samples()), labels);
    retried.Add(static_cast<double>(sender->retried_samples()), labels);
    pending.Add(static_cast<double>(sender->PendingSamples()), labels);
    highest_sent.Add(
        static_cast<double>(sender->highest_sent_timestamp_ms()) / 1000,
        labels);
    shards.Add(d.shards, labels);
    records_read.Add(static_cast<double>(sender->records_read()), labels);
    records_loaded.Add(static_cast<double>(sender->records_loaded()), labels);
  }
  b.Gauge("keel_remote_storage_highest_timestamp_in_seconds",
          "Newest timestamp among the samples put in the forwarding queue "
          "since the start.")
      .Add(static_cast<double>(forwarder_->queue().highest_timestamp_ms()) /
           1000);
  b.Gauge("keel_remote_queue_bytes",
          "Bytes of the forwarding queue's segments on disk.")
      .Add(static_cast<double>(forwarder_->queue().disk_bytes()));
  b.Counter("keel_remote_queue_refused_writes_total",
            "Writes answered 429 because the forwarding queue was full.")
      .Add(static_cast<double>(forwarder_->refused_writes()));
  return b.Take();
}

}  // namespace keel::tools
