// ForwardCollector: remote-write forwarding as Prometheus metrics, named
// as Prometheus' own remote-write queue metrics (prometheus_remote_storage_*
// -> keel_remote_storage_*), each destination labelled remote_name and url:
//
//   keel_remote_storage_samples_total                 delivered (2xx)
//   keel_remote_storage_bytes_total                   their compressed bytes
//   keel_remote_storage_failed_samples_total          refused for good (4xx)
//   keel_remote_storage_retried_samples_total         sent again after a
//   failure keel_remote_storage_samples_pending               queued, not yet
//   delivered keel_remote_storage_queue_highest_sent_timestamp_seconds
//   keel_remote_storage_shards
//   keel_remote_storage_highest_timestamp_in_seconds  newest queued (no labels)
//   keel_remote_queue_bytes                           the queue on disk
//   keel_remote_queue_refused_writes_total            writes answered 429: full
//
// The lag behind the newest accepted sample is
// highest_timestamp_in_seconds - queue_highest_sent_timestamp_seconds.
//
//   metrics.Add(std::make_shared<ForwardCollector>(forwarder.get()));
//
// Thread safety: Collect may run on any thread.
// REQUIRES: the Forwarder outlives the collector.
#ifndef KEEL_TOOLS_SERVER_FORWARD_FORWARD_COLLECTOR_H_
#define KEEL_TOOLS_SERVER_FORWARD_FORWARD_COLLECTOR_H_

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "tools/server/forward/forwarder.h"

namespace keel::tools {

class ForwardCollector : public prometheus::Collectable {
 public:
  explicit ForwardCollector(const Forwarder* forwarder)
      : forwarder_(forwarder) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Forwarder* forwarder_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FORWARD_FORWARD_COLLECTOR_H_
