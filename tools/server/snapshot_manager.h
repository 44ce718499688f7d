// SnapshotManager: keel serve's snapshots in its data directory.
//
// The newest snapshot is DIR/series.snap, the previous ones
// DIR/series.snap.1 .. .<keep-1> (snapshot::WriteSnapshot rotates them).
//
// At start, RestoreNewest tries them newest first. A file that cannot be
// restored, for any reason (a checksum, a chunk that does not decode or
// whose samples leave its time range, labels a store refuses, or chunks that
// do not fit a changed --chunk-window), is renamed
// DIR/series.snap[.N].bad-<unix ms> with a loud log line ("!!! SNAPSHOT ...
// CANNOT BE RESTORED") and the next one is tried; nothing is deleted, so a
// file refused for a configuration change can be restored by hand later.
// Every attempt is recorded in the SnapshotCollector and logged: a line
// before it ("restoring 1.2 GB from PATH"), its progress every few seconds
// when it takes longer, and its end ("restored N series, M chunks ... in X
// s"). A restore sets the collector's last-snapshot gauges from the file.
//
// The series-loss guard. The manager remembers the last good snapshot: the
// one it restored, or the last it wrote unguarded, with its series count G.
// When Take finds the store holding fewer than (1 - max_series_loss) * G
// series (an accident such as one far-future sample making retention drop
// every series), the snapshot is guarded:
//   - the last good snapshot is first hard-linked (copied if links fail) to
//     DIR/series.snap.kept-<unix ms>, a name rotation never touches, once
//     per last good snapshot: further guarded snapshots find it kept;
//   - the new snapshot is then written as usual (it may be what the operator
//     wants; nothing is lost either way), G stays the last good count, and
//     a log line "!!! SNAPSHOT GUARD ..." names both counts and the kept file;
//   - keel_snapshot_guarded_total counts it.
// If the last good snapshot can be neither linked nor copied, the guarded
// snapshot is not written (an error, counted as a failure), since writing
// it could rotate the last good state away.
// So repeated snapshots after an accident (POST /v1/snapshot, the interval
// timer, shutdown) cannot rotate the last good state away. A snapshot whose
// store is back within the bound is good again and becomes the new G. To
// go back to a kept snapshot: stop keel serve, move it to DIR/series.snap,
// start. A loss of 1 or more disables the guard; without a last good
// snapshot (an empty start) there is nothing to guard.
//
//   SnapshotManager snapshots("/var/lib/keel", /*keep=*/2, &collector, 0.5);
//   auto store = snapshots.RestoreNewest(options);   // a fresh store if none
//   snapshots.Take(**store, "interval");
//
// Thread safety: Take may be called from several threads; snapshots are
// serialised. RestoreNewest runs before any Take.
#ifndef KEEL_TOOLS_SERVER_SNAPSHOT_MANAGER_H_
#define KEEL_TOOLS_SERVER_SNAPSHOT_MANAGER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/series/series_store.h"
#include "diagnostics/snapshot_collector.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"

namespace keel::tools {

class SnapshotManager {
 public:
  // REQUIRES: keep >= 1; max_series_loss >= 0; `collector` outlives the
  // manager.
  SnapshotManager(std::string data_dir, int keep,
                  diagnostics::SnapshotCollector* collector,
                  double max_series_loss = 0.5);

  // Creates the directory if needed, then restores the newest snapshot that
  // can be restored into a new store with `options`, or returns an empty
  // store. Errors: only a data directory that cannot be created. Progress
  // is logged every `progress.interval_seconds`, and handed to
  // `progress.callback` as well when it is set.
  absl::StatusOr<std::unique_ptr<core::SeriesStore>> RestoreNewest(
      const core::SeriesStoreOptions& options,
      const snapshot::RestoreProgressOptions& progress = {});

  // Writes a snapshot of `store` now, under the series-loss guard; `reason`
  // goes in the log line.
  absl::StatusOr<snapshot::WriteStats> Take(const core::SeriesStore& store,
                                            std::string_view reason);

  const std::string& path() const { return path_; }

 private:
  // Keeps the last good snapshot aside, unless done already for it.
  void KeepLastGood(uint64_t series) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string data_dir_;
  std::string path_;
  int keep_;
  diagnostics::SnapshotCollector* collector_;
  double max_series_loss_;
  std::mutex mu_;  // one snapshot at a time
  // The last good snapshot: its file (until rotation moves it, which only
  // a Take does, after KeepLastGood) and series count. Empty path: none.
  std::string last_good_path_ ABSL_GUARDED_BY(mu_);
  uint64_t last_good_series_ ABSL_GUARDED_BY(mu_) = 0;
  std::string kept_path_ ABSL_GUARDED_BY(mu_);  // "" until kept aside
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_SNAPSHOT_MANAGER_H_
