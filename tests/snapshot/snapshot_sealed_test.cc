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

TEST_CASE("a snapshot of sealed windows restores every sample bit for bit") {
  core::SeriesStoreOptions options;
  options.chunk_window_ms = 60000;
  core::SeriesStore store(options);
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
  testing::TempDir temp("snapshot_sealed_test");
  std::string path = temp.File("sealed.snap");
  auto written = WriteSnapshot(store, path);
  REQUIRE(written.ok());
  CHECK(written->samples == 30 * 400);
  auto restored = RestoreSnapshot(path, {});
  REQUIRE(restored.ok());
  CHECK(Read(**restored) == Read(store));
}

}  // namespace
}  // namespace keel::snapshot
