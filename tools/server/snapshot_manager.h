// SnapshotManager: keel serve's snapshots in its data directory.
//
// The newest snapshot is DIR/series.snap, the previous ones
// DIR/series.snap.1 .. .<keep-1> (snapshot::WriteSnapshot rotates them).
// At start, RestoreNewest tries them newest first: a file that fails
// verification is renamed DIR/series.snap[.N].bad-<unix ms> with a loud log
// line and the next one is tried; a file that verifies but that the store
// refuses (e.g. its chunks do not fit a changed --chunk-window) stops the
// start with the error, leaving the file in place, since it is not corrupt.
// Every attempt is recorded in the SnapshotCollector and logged.
//
//   SnapshotManager snapshots("/var/lib/keel", /*keep=*/2, &collector);
//   auto store = snapshots.RestoreNewest(options);   // a fresh store if none
//   snapshots.Take(**store, "interval");
//
// Thread safety: Take may be called from several threads; snapshots are
// serialised.
#ifndef KEEL_TOOLS_SERVER_SNAPSHOT_MANAGER_H_
#define KEEL_TOOLS_SERVER_SNAPSHOT_MANAGER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "keel/core/series_store.h"
#include "keel/diagnostics/snapshot_collector.h"
#include "keel/snapshot/writer.h"

namespace keel::tools {

class SnapshotManager {
 public:
  // REQUIRES: keep >= 1; `collector` outlives the manager.
  SnapshotManager(std::string data_dir, int keep,
                  diagnostics::SnapshotCollector* collector);

  // Creates the directory if needed, then restores the newest snapshot that
  // verifies into a new store with `options`, or returns an empty store.
  absl::StatusOr<std::unique_ptr<core::SeriesStore>> RestoreNewest(
      const core::SeriesStoreOptions& options);

  // Writes a snapshot of `store` now; `reason` goes in the log line.
  absl::StatusOr<snapshot::WriteStats> Take(const core::SeriesStore& store,
                                            std::string_view reason);

  const std::string& path() const { return path_; }

 private:
  std::string data_dir_;
  std::string path_;
  int keep_;
  diagnostics::SnapshotCollector* collector_;
  absl::Mutex mu_;  // one snapshot at a time
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_SNAPSHOT_MANAGER_H_
