#include "keel/tools/server/snapshot_manager.h"

#include <chrono>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "keel/snapshot/reader.h"
#include "keel/tools/server/event_log.h"

namespace keel::tools {
namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// Snapshots found, newest first: PATH, PATH.1, PATH.2, ... while they exist
// (a gap ends the list, as WriteSnapshot never leaves one).
std::vector<std::string> Candidates(const std::string& path) {
  std::vector<std::string> found;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) found.push_back(path);
  for (int i = 1;; ++i) {
    std::string older = absl::StrCat(path, ".", i);
    if (!std::filesystem::exists(older, ec)) break;
    found.push_back(older);
  }
  return found;
}

}  // namespace

SnapshotManager::SnapshotManager(std::string data_dir, int keep,
                                 diagnostics::SnapshotCollector* collector)
    : data_dir_(std::move(data_dir)),
      path_((std::filesystem::path(data_dir_) / "series.snap").string()),
      keep_(keep),
      collector_(collector) {}

absl::StatusOr<std::unique_ptr<core::SeriesStore>>
SnapshotManager::RestoreNewest(const core::SeriesStoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create data directory ", data_dir_, ": ", ec.message()));
  }
  for (const std::string& candidate : Candidates(path_)) {
    absl::StatusOr<snapshot::SnapshotInfo> info =
        snapshot::VerifySnapshot(candidate);
    if (!info.ok()) {
      std::string aside = absl::StrCat(candidate, ".bad-", NowUnixMs());
      std::filesystem::rename(candidate, aside, ec);
      LogEvent(absl::StrCat(
          "!!! SNAPSHOT ", candidate,
          " FAILED VERIFICATION: ", Message(info.status()), "; moved aside to ",
          ec ? absl::StrCat("(rename failed: ", ec.message(), ")") : aside,
          "; trying the previous snapshot"));
      collector_->RecordFailure();
      continue;
    }
    snapshot::RestoreStats stats;
    auto store = snapshot::RestoreSnapshot(candidate, options, &stats);
    if (!store.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "snapshot ", candidate,
          " verifies but cannot be restored with this configuration: ",
          Message(store.status())));
    }
    collector_->RecordRestore(stats.seconds, stats.info.file_bytes);
    LogEvent(absl::StrFormat(
        "restored %s: %d series, %d chunks, %d samples, %d bytes in %.3f s",
        candidate, stats.info.series, stats.info.chunks, stats.info.samples,
        stats.info.file_bytes, stats.seconds));
    return store;
  }
  LogEvent(absl::StrCat("no snapshot in ", data_dir_, ": starting empty"));
  return std::make_unique<core::SeriesStore>(options);
}

absl::StatusOr<snapshot::WriteStats> SnapshotManager::Take(
    const core::SeriesStore& store, std::string_view reason) {
  absl::MutexLock lock(&mu_);
  snapshot::WriteOptions options;
  options.keep = keep_;
  auto stats = snapshot::WriteSnapshot(store, path_, options);
  if (!stats.ok()) {
    collector_->RecordFailure();
    LogEvent(absl::StrCat("snapshot (", std::string(reason),
                          ") FAILED: ", Message(stats.status())));
    return stats;
  }
  collector_->RecordSuccess(stats->write_seconds, stats->bytes);
  LogEvent(absl::StrFormat(
      "snapshot (%s) written to %s: %d series, %d chunks, %d samples, %d "
      "bytes in %.3f s",
      std::string(reason), path_, stats->series, stats->chunks, stats->samples,
      stats->bytes, stats->write_seconds));
  return stats;
}

}  // namespace keel::tools
