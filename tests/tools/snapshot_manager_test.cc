// keel serve's snapshots: the fall-back at start past any snapshot that
// cannot be restored, and the series-loss guard (issue 13, findings 7 and 1).
#include "tools/server/snapshot_manager.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tests/diagnostics/metric_samples.h"
#include "tests/snapshot/synthetic_snapshot.h"
#include "tests/testing/temp_dir.h"

namespace keel::tools {
namespace {

using diagnostics::SampleValue;
using snapshot::snapshot_internal::Synthetic;
using snapshot::snapshot_internal::WriteSynthetic;
using snapshot::snapshot_internal::XorRecord;
using testing::TempDir;

// A store of `n` series, one sample each.
std::unique_ptr<core::SeriesStore> StoreOf(int n) {
  auto store = std::make_unique<core::SeriesStore>();
  for (int i = 0; i < n; ++i) {
    auto ref = store->GetOrCreate(
        {{"__name__", "up"}, {"instance", absl::StrCat("i", i)}});
    REQUIRE(ref.ok());
    REQUIRE(store->Append(*ref, 1'700'000'000'000, 1.0) ==
            core::AppendResult::kAppended);
  }
  return store;
}

std::vector<std::string> FilesStartingWith(const std::string& dir,
                                           const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(prefix)) {
      found.push_back(e.path().string());
    }
  }
  return found;
}

TEST_CASE(
    "start falls back past a checksum-valid snapshot that cannot be "
    "restored") {
  // The newest snapshot's checksums are right but its content is not: a
  // repeated label name, or a chunk whose samples leave its time range.
  Synthetic duplicate_name;
  duplicate_name.strings = {"__name__", "up", "job", "a", "b"};
  duplicate_name.series = {{{0, 1}, {2, 3}, {2, 4}}};
  Synthetic bad_chunk;
  bad_chunk.strings = {"__name__", "up"};
  bad_chunk.series = {{{0, 1}}};
  bad_chunk.chunks = {XorRecord(0, {1000, 2000, 3000})};
  bad_chunk.chunks[0].max_time = 2000;
  for (const Synthetic* newest : {&duplicate_name, &bad_chunk}) {
    TempDir dir("snapshot_manager");
    snapshot::WriteOptions one;
    one.keep = 1;
    REQUIRE(
        snapshot::WriteSnapshot(*StoreOf(7), dir.path() + "/series.snap.1", one)
            .ok());
    WriteSynthetic(*newest, dir.path() + "/series.snap", 1 << 20);
    REQUIRE_FALSE(snapshot::VerifySnapshot(dir.path() + "/series.snap").ok());

    diagnostics::SnapshotCollector collector;
    SnapshotManager manager(dir.path(), 2, &collector);
    auto store = manager.RestoreNewest({});
    REQUIRE(store.ok());
    CHECK((*store)->Stats().series == 7);
    CHECK(FilesStartingWith(dir.path(), "series.snap.bad-").size() == 1);
    CHECK_FALSE(std::filesystem::exists(dir.path() + "/series.snap"));
    CHECK(SampleValue(collector.Collect(), "keel_snapshot_failures_total") ==
          1);
  }
}

TEST_CASE("a store that lost most series keeps the last good snapshot aside") {
  TempDir dir("snapshot_manager");
  diagnostics::SnapshotCollector collector;
  SnapshotManager manager(dir.path(), 2, &collector, 0.5);
  auto good = StoreOf(10);
  REQUIRE(manager.Take(*good, "test").ok());
  // Losing 40% is within the bound: no guard.
  REQUIRE(manager.Take(*StoreOf(6), "test").ok());
  CHECK(FilesStartingWith(dir.path(), "series.snap.kept-").empty());
  CHECK(SampleValue(collector.Collect(), "keel_snapshot_guarded_total") == 0);

  // The accident: 1 series of the 6 left. Two snapshots rotate both kept
  // snapshots, but the last good one (6 series) was kept aside, once.
  auto damaged = StoreOf(1);
  REQUIRE(manager.Take(*damaged, "test").ok());
  REQUIRE(manager.Take(*damaged, "test").ok());
  CHECK(SampleValue(collector.Collect(), "keel_snapshot_guarded_total") == 2);
  for (const char* name : {"/series.snap", "/series.snap.1"}) {
    auto info = snapshot::VerifySnapshot(dir.path() + name);
    REQUIRE(info.ok());
    CHECK(info->series == 1);
  }
  std::vector<std::string> kept =
      FilesStartingWith(dir.path(), "series.snap.kept-");
  REQUIRE(kept.size() == 1);
  auto info = snapshot::VerifySnapshot(kept[0]);
  REQUIRE(info.ok());
  CHECK(info->series == 6);

  // Back within the bound of the last good count: good again, and the
  // next accident keeps the new last good snapshot.
  REQUIRE(manager.Take(*good, "test").ok());
  CHECK(SampleValue(collector.Collect(), "keel_snapshot_guarded_total") == 2);
  REQUIRE(manager.Take(*damaged, "test").ok());
  CHECK(SampleValue(collector.Collect(), "keel_snapshot_guarded_total") == 3);
  kept = FilesStartingWith(dir.path(), "series.snap.kept-");
  REQUIRE(kept.size() == 2);
  int kept_with_10 = 0;
  for (const std::string& k : kept) {
    kept_with_10 += snapshot::VerifySnapshot(k)->series == 10 ? 1 : 0;
  }
  CHECK(kept_with_10 == 1);
}

TEST_CASE("the guard starts from the snapshot restored; a loss of 1 is off") {
  TempDir dir("snapshot_manager");
  {
    diagnostics::SnapshotCollector collector;
    SnapshotManager manager(dir.path(), 2, &collector);
    REQUIRE(manager.Take(*StoreOf(4), "test").ok());
  }
  diagnostics::SnapshotCollector collector;
  SnapshotManager manager(dir.path(), 2, &collector);
  REQUIRE(manager.RestoreNewest({}).ok());
  REQUIRE(manager.Take(*StoreOf(0), "test").ok());
  CHECK(SampleValue(collector.Collect(), "keel_snapshot_guarded_total") == 1);
  CHECK(FilesStartingWith(dir.path(), "series.snap.kept-").size() == 1);

  TempDir off_dir("snapshot_manager");
  diagnostics::SnapshotCollector off_collector;
  SnapshotManager off(off_dir.path(), 2, &off_collector, 1.0);
  REQUIRE(off.Take(*StoreOf(4), "test").ok());
  REQUIRE(off.Take(*StoreOf(0), "test").ok());
  CHECK(SampleValue(off_collector.Collect(), "keel_snapshot_guarded_total") ==
        0);
}

}  // namespace
}  // namespace keel::tools
