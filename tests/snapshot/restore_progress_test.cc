// RestoreSnapshot's progress callback: called while a restore runs, with
// counts that only grow and stay within the file's.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/series/series_store.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tests/testing/temp_dir.h"

namespace keel::snapshot {
namespace {

constexpr int64_t kStart = 1'700'006'400'000;

TEST_CASE("a restore reports its progress to the callback") {
  testing::TempDir dir("restore_progress");
  core::SeriesStore store;
  for (int i = 0; i < 3000; ++i) {
    core::Labels labels = {{"__name__", "up"},
                           {"instance", "host-" + std::to_string(i)}};
    for (int t = 0; t < 3; ++t) {
      auto appended = store.Append(labels, kStart + t * 15000, t);
      REQUIRE(appended.ok());
      REQUIRE(*appended == core::AppendResult::kAppended);
    }
  }
  const std::string path = dir.path() + "/s";
  REQUIRE(WriteSnapshot(store, path).ok());

  std::vector<RestoreProgress> reports;
  RestoreProgressOptions progress;
  progress.interval_seconds = 0;  // at every check: every 1024 records
  progress.callback = [&](const RestoreProgress& p) { reports.push_back(p); };
  RestoreStats stats;
  auto restored = RestoreSnapshot(path, {}, &stats, progress);
  REQUIRE(restored.ok());
  // Strings, series and chunks: over 6000 records.
  REQUIRE(reports.size() >= 5);
  for (size_t i = 0; i < reports.size(); ++i) {
    const RestoreProgress& p = reports[i];
    CHECK(p.file_bytes == stats.info.file_bytes);
    CHECK(p.series_total == 3000);
    CHECK(p.chunks_total == stats.info.chunks);
    CHECK(p.series <= p.series_total);
    CHECK(p.chunks <= p.chunks_total);
    CHECK(p.bytes_read < p.file_bytes);
    if (i > 0) {
      CHECK(p.series >= reports[i - 1].series);
      CHECK(p.chunks >= reports[i - 1].chunks);
      CHECK(p.bytes_read >= reports[i - 1].bytes_read);
    }
  }
  CHECK(reports.back().series == 3000);
  CHECK(reports.back().chunks > 0);
}

}  // namespace
}  // namespace keel::snapshot
