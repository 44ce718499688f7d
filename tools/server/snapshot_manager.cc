#include "tools/server/snapshot_manager.h"

#include <chrono>
#include <filesystem>
#include <iterator>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "snapshot/reader.h"
#include "tools/server/event_log.h"

namespace keel::tools {
namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// "1.2 GB", "340 kB": sizes in log lines, SI as `du --si` prints them.
std::string Size(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(units)) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, " B")
                   : absl::StrFormat("%.1f %s", value, units[unit]);
}

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
                                 diagnostics::SnapshotCollector* collector,
                                 double max_series_loss)
    : data_dir_(std::move(data_dir)),
      path_((std::filesystem::path(data_dir_) / "series.snap").string()),
      keep_(keep),
      collector_(collector),
      max_series_loss_(max_series_loss) {}

absl::StatusOr<std::unique_ptr<core::SeriesStore>>
SnapshotManager::RestoreNewest(
    const core::SeriesStoreOptions& options,
    const snapshot::RestoreProgressOptions& progress) {
  std::lock_guard lock(mu_);
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create data directory ", data_dir_, ": ", ec.message()));
  }
  // A restore makes every check a verify makes (and fits the chunks to
  // this store's windows), so one pass over each file decides.
  for (const std::string& candidate : Candidates(path_)) {
    snapshot::RestoreStats stats;
    const uintmax_t bytes = std::filesystem::file_size(candidate, ec);
    LogEvent(absl::StrCat("restoring ", ec ? "a snapshot" : Size(bytes),
                          " from ", candidate));
    snapshot::RestoreProgressOptions logged;
    logged.interval_seconds = progress.interval_seconds;
    logged.callback = [&](const snapshot::RestoreProgress& p) {
      LogEvent(absl::StrFormat(
          "restoring %s: %s of %s read, %d of %d series, %d of %d chunks, "
          "%.0f s",
          candidate, Size(p.bytes_read), Size(p.file_bytes), p.series,
          p.series_total, p.chunks, p.chunks_total, p.seconds));
      if (progress.callback) progress.callback(p);
    };
    auto store = snapshot::RestoreSnapshot(candidate, options, &stats, logged);
    if (!store.ok()) {
      std::string aside = absl::StrCat(candidate, ".bad-", NowUnixMs());
      std::filesystem::rename(candidate, aside, ec);
      LogEvent(absl::StrCat(
          "!!! SNAPSHOT ", candidate,
          " CANNOT BE RESTORED: ", Message(store.status()), "; moved aside to ",
          ec ? absl::StrCat("(rename failed: ", ec.message(), ")") : aside,
          "; trying the previous snapshot"));
      collector_->RecordFailure();
      continue;
    }
    collector_->RecordRestore(
        stats.seconds, stats.info.file_bytes,
        static_cast<double>(stats.info.created_unix_ms) / 1000);
    LogEvent(absl::StrFormat(
        "restored %d series, %d chunks, %d samples (%s) from %s in %.3f s",
        stats.info.series, stats.info.chunks, stats.info.samples,
        Size(stats.info.file_bytes), candidate, stats.seconds));
    last_good_path_ = candidate;
    last_good_series_ = stats.info.series;
    return store;
  }
  LogEvent(absl::StrCat("no snapshot in ", data_dir_, ": starting empty"));
  return std::make_unique<core::SeriesStore>(options);
}

void SnapshotManager::KeepLastGood(uint64_t series) {
  std::string loss = absl::StrFormat(
      "the store holds %d series, %.1f%% fewer than the %d of the last good "
      "snapshot (more than the allowed %.1f%%)",
      series, 100.0 * (1.0 - static_cast<double>(series) / last_good_series_),
      last_good_series_, 100.0 * max_series_loss_);
  if (!kept_path_.empty()) {
    LogEvent(absl::StrCat("!!! SNAPSHOT GUARD: ", loss,
                          "; the last good snapshot is kept as ", kept_path_,
                          "; writing this one as well"));
    return;
  }
  std::string kept = absl::StrCat(path_, ".kept-", NowUnixMs());
  std::error_code ec;
  std::filesystem::create_hard_link(last_good_path_, kept, ec);
  if (ec) {
    std::error_code copy_ec;
    std::filesystem::copy_file(last_good_path_, kept, copy_ec);
    if (copy_ec) {
      // Nothing is written over the last good snapshot unless it is kept.
      LogEvent(absl::StrCat("!!! SNAPSHOT GUARD: ", loss, "; keeping ",
                            last_good_path_, " as ", kept,
                            " failed: ", copy_ec.message()));
      return;
    }
  }
  kept_path_ = kept;
  LogEvent(absl::StrCat("!!! SNAPSHOT GUARD: ", loss,
                        "; the last good snapshot ", last_good_path_,
                        " is kept as ", kept, "; writing this one as well"));
}

absl::StatusOr<snapshot::WriteStats> SnapshotManager::Take(
    const core::SeriesStore& store, std::string_view reason) {
  std::lock_guard lock(mu_);
  const uint64_t series = store.Stats().series;
  const bool guarded =
      !last_good_path_.empty() && max_series_loss_ < 1.0 &&
      static_cast<double>(series) <
          (1.0 - max_series_loss_) * static_cast<double>(last_good_series_);
  if (guarded) {
    collector_->RecordGuarded();
    KeepLastGood(series);
    if (kept_path_.empty()) {
      collector_->RecordFailure();
      return absl::FailedPreconditionError(absl::StrCat(
          "snapshot (", std::string(reason), ") not written: the store lost ",
          "more series than allowed and the last good snapshot ",
          last_good_path_, " could not be kept aside"));
    }
  }
  snapshot::WriteOptions options;
  options.keep = keep_;
  auto stats = snapshot::WriteSnapshot(store, path_, options);
  if (!stats.ok()) {
    collector_->RecordFailure();
    LogEvent(absl::StrCat("snapshot (", std::string(reason),
                          ") FAILED: ", Message(stats.status())));
    return stats;
  }
  if (!guarded) {
    last_good_path_ = path_;
    last_good_series_ = stats->series;
    kept_path_.clear();
  }
  collector_->RecordSuccess(stats->write_seconds, stats->bytes);
  LogEvent(absl::StrFormat(
      "snapshot (%s)%s written to %s: %d series, %d chunks, %d samples, %d "
      "bytes in %.3f s",
      std::string(reason), guarded ? " GUARDED" : "", path_, stats->series,
      stats->chunks, stats->samples, stats->bytes, stats->write_seconds));
  return stats;
}

}  // namespace keel::tools
