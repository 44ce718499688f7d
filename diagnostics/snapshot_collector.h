// SnapshotCollector: what a process's snapshots did, as Prometheus metrics.
// Whoever takes snapshots records each attempt; Collect reports them.
//
//   auto snapshots = std::make_shared<SnapshotCollector>();
//   registry.push_back(snapshots);
//   snapshots->RecordSuccess(/*seconds=*/0.8, /*bytes=*/12345678);
//   snapshots->RecordFailure();
//
// Metrics: keel_snapshot_last_duration_seconds,
// keel_snapshot_last_bytes, keel_snapshot_last_success_timestamp_seconds and
// keel_snapshot_age_seconds (seconds since it). A restore at start sets the
// last three from the restored file (its size, and the time its header
// records), so a process that restored knows its snapshot's age before it
// writes one; the duration, which a file does not record, waits for the
// first snapshot written. Without a restore all four are absent until then.
// keel_snapshot_restore_duration_seconds and keel_snapshot_restore_bytes
// are absent unless the process restored one;
// keel_snapshots_total, keel_snapshot_failures_total and
// keel_snapshot_guarded_total (snapshots written of a store that had lost
// more series than allowed since the last good one, which was kept aside:
// see tools/server/snapshot_manager.h).
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_DIAGNOSTICS_SNAPSHOT_COLLECTOR_H_
#define KEEL_DIAGNOSTICS_SNAPSHOT_COLLECTOR_H_

#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keel::diagnostics {

class SnapshotCollector : public prometheus::Collectable {
 public:
  // A snapshot of `bytes` written in `seconds`, finishing now.
  void RecordSuccess(double seconds, uint64_t bytes);
  void RecordFailure();
  // A snapshot was written under the series-loss guard.
  void RecordGuarded();
  // The store was restored in `seconds` from a snapshot of `bytes` written
  // at `created_unix_seconds`; it counts as the last snapshot until the
  // next success.
  void RecordRestore(double seconds, uint64_t bytes,
                     double created_unix_seconds);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mu_;
  uint64_t successes_ ABSL_GUARDED_BY(mu_) = 0;
  bool has_last_ ABSL_GUARDED_BY(mu_) = false;  // a success or a restore
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t guarded_ ABSL_GUARDED_BY(mu_) = 0;
  double last_seconds_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  double last_success_unix_ ABSL_GUARDED_BY(mu_) = 0;
  bool restored_ ABSL_GUARDED_BY(mu_) = false;
  double restore_seconds_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t restore_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace keel::diagnostics

#endif  // KEEL_DIAGNOSTICS_SNAPSHOT_COLLECTOR_H_
