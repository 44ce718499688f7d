#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/series/selector.h"
#include "core/series/series_store.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tests/testing/temp_dir.h"

namespace keel::snapshot {
namespace {

using Samples =
    std::map<std::string, std::vector<std::pair<int64_t, uint64_t>>>;

Samples Read(const core::SeriesStore& store) {
  auto all = core::ParseSelector(R"({__name__=~".+"})");
  REQUIRE(all.ok());
  core::SeriesSet set = store.Select(*all, INT64_MIN, INT64_MAX);
  Samples out;
  for (const auto& entry : set.series()) {
    auto& samples = out[core::LabelsToString(entry.labels)];
    for (auto it = set.Samples(entry); it.Next();) {
      samples.push_back({it.t(), std::bit_cast<uint64_t>(it.v())});
    }
  }
  return out;
}

constexpr int64_t kWindow = 60000;

// 30 series over seven one-minute windows, the first six sealed: decimal
// values, stale markers, jittered timestamps.
void Fill(core::SeriesStore& store) {
  for (int i = 0; i < 30; ++i) {
    auto ref = store.GetOrCreate({{"__name__", "m"}, {"i", absl::StrCat(i)}});
    REQUIRE(ref.ok());
    for (int64_t k = 0; k < 400; ++k) {
      uint64_t bits = k % 50 == 0 ? 0x7ff0000000000002ull  // stale marker
                                  : std::bit_cast<uint64_t>(k * 0.25 + i);
      REQUIRE(store.Append(*ref, 1700000000000 + k * 1000 + (k % 7 == 0),
                           std::bit_cast<double>(bits)) ==
              core::AppendResult::kAppended);
    }
  }
  REQUIRE(store.SealWindows(INT64_MAX) > 0);
  REQUIRE(store.GetSealedStats().samples > 0);
}

core::SeriesStoreOptions Options() {
  core::SeriesStoreOptions options;
  options.chunk_window_ms = kWindow;
  return options;
}

TEST_CASE("a v2 snapshot keeps sealed frames as they are, bit for bit") {
  core::SeriesStore store(Options());
  Fill(store);
  testing::TempDir temp("snapshot_sealed_test");
  std::string path = temp.File("sealed.snap");
  auto written = WriteSnapshot(store, path);
  REQUIRE(written.ok());
  CHECK(written->samples == 30 * 400);
  auto info = VerifySnapshot(path);
  REQUIRE(info.ok());
  CHECK(info->version == 2);
  CHECK(info->frames > 0);
  CHECK(info->sealed_chunks > 0);
  RestoreStats stats;
  auto restored = RestoreSnapshot(path, Options(), &stats);
  REQUIRE(restored.ok());
  CHECK(Read(**restored) == Read(store));
  // The same frames in buffers of the same sizes: nothing re-encoded.
  core::SeriesStore::SealedStats before = store.GetSealedStats();
  core::SeriesStore::SealedStats after = (*restored)->GetSealedStats();
  CHECK(after.samples == before.samples);
  CHECK(after.windows == before.windows);
  CHECK(after.bytes == before.bytes);
  CHECK((*restored)->SealWindows(INT64_MAX) == 0);
  // Appends go on after the restored sealed windows.
  auto ref = (*restored)->Find({{"__name__", "m"}, {"i", "3"}});
  REQUIRE(ref.ok());
  REQUIRE(ref->has_value());
  CHECK((*restored)->Append(**ref, 1700000000000 + 400 * 1000, 1.5) ==
        core::AppendResult::kAppended);
  // A restored frame is the store's like a sealed one: snapshots again.
  std::string again = temp.File("again.snap");
  auto rewritten = WriteSnapshot(**restored, again);
  REQUIRE(rewritten.ok());
  auto twice = RestoreSnapshot(again, Options());
  REQUIRE(twice.ok());
  CHECK(Read(**twice) == Read(**restored));
}

TEST_CASE("a v1 snapshot of sealed windows restores, sealed again later") {
  core::SeriesStore store(Options());
  Fill(store);
  testing::TempDir temp("snapshot_sealed_test");
  std::string v1 = temp.File("v1.snap");
  std::string v2 = temp.File("v2.snap");
  WriteOptions old;
  old.version = 1;
  auto written = WriteSnapshot(store, v1, old);
  REQUIRE(written.ok());
  auto written2 = WriteSnapshot(store, v2);
  REQUIRE(written2.ok());
  CHECK(written2->bytes < written->bytes);
  auto info = VerifySnapshot(v1);
  REQUIRE(info.ok());
  CHECK(info->version == 1);
  CHECK(info->frames == 0);
  auto restored = RestoreSnapshot(v1, Options());
  REQUIRE(restored.ok());
  CHECK(Read(**restored) == Read(store));
  CHECK((*restored)->GetSealedStats().samples == 0);
  CHECK((*restored)->SealWindows(INT64_MAX) > 0);
  CHECK(Read(**restored) == Read(store));
}

TEST_CASE("sealed entries refuse a store with another chunk window") {
  core::SeriesStore store(Options());
  Fill(store);
  testing::TempDir temp("snapshot_sealed_test");
  std::string path = temp.File("sealed.snap");
  REQUIRE(WriteSnapshot(store, path).ok());
  core::SeriesStoreOptions other = Options();
  other.chunk_window_ms = kWindow / 4;
  auto restored = RestoreSnapshot(path, other);
  REQUIRE_FALSE(restored.ok());
  CHECK(std::string(restored.status().message()).find("chunk window") !=
        std::string::npos);
}

}  // namespace
}  // namespace keel::snapshot
