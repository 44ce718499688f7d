#include "diagnostics/snapshot_collector.h"

#include <chrono>

#include "diagnostics/metric_builder.h"

namespace keel::diagnostics {
namespace {

double NowUnixSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void SnapshotCollector::RecordSuccess(double seconds, uint64_t bytes) {
  std::lock_guard lock(mu_);
  ++successes_;
  has_last_ = true;
  last_seconds_ = seconds;
  last_bytes_ = bytes;
  last_success_unix_ = NowUnixSeconds();
}

void SnapshotCollector::RecordFailure() {
  std::lock_guard lock(mu_);
  ++failures_;
}

void SnapshotCollector::RecordGuarded() {
  std::lock_guard lock(mu_);
  ++guarded_;
}

void SnapshotCollector::RecordRestore(double seconds, uint64_t bytes,
                                      double created_unix_seconds) {
  std::lock_guard lock(mu_);
  restored_ = true;
  restore_seconds_ = seconds;
  restore_bytes_ = bytes;
  if (successes_ == 0) {
    has_last_ = true;
    last_bytes_ = bytes;
    last_success_unix_ = created_unix_seconds;
  }
}

std::vector<prometheus::MetricFamily> SnapshotCollector::Collect() const {
  std::lock_guard lock(mu_);
  MetricBuilder b;
  if (successes_ > 0) {
    b.Gauge("keel_snapshot_last_duration_seconds",
            "Seconds the last successful snapshot took to write.")
        .Add(last_seconds_);
  }
  if (has_last_) {
    b.Gauge("keel_snapshot_last_bytes",
            "Size of the last successful snapshot (or of the one restored).")
        .Add(static_cast<double>(last_bytes_));
    b.Gauge("keel_snapshot_last_success_timestamp_seconds",
            "When the last successful snapshot finished (or the one restored "
            "was written), Unix seconds.")
        .Add(last_success_unix_);
    b.Gauge("keel_snapshot_age_seconds",
            "Seconds since the last successful snapshot finished.")
        .Add(NowUnixSeconds() - last_success_unix_);
  }
  if (restored_) {
    b.Gauge("keel_snapshot_restore_duration_seconds",
            "Seconds the restore at start took.")
        .Add(restore_seconds_);
    b.Gauge("keel_snapshot_restore_bytes",
            "Size of the snapshot restored at start.")
        .Add(static_cast<double>(restore_bytes_));
  }
  b.Counter("keel_snapshots_total", "Snapshots written successfully.")
      .Add(static_cast<double>(successes_));
  b.Counter("keel_snapshot_failures_total", "Snapshot attempts that failed.")
      .Add(static_cast<double>(failures_));
  b.Counter("keel_snapshot_guarded_total",
            "Snapshots written of a store that lost more series than "
            "allowed since the last good snapshot, which was kept aside.")
      .Add(static_cast<double>(guarded_));
  return b.Take();
}

}  // namespace keel::diagnostics
