// SeriesStore's active defragmentation: after a scattered turnover it moves
// the survivors' small objects out of sparse slabs, purges, and every sample
// and label still reads back; memory pressure starts it, with a runner or
// without one.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/stats.h"
#include "core/series/series_store.h"
#include "tests/core/series/series_store_testing.h"

namespace keel::core {
namespace {

using series_store_testing::kAll;
using series_store_testing::kNone;
using series_store_testing::Read;
using series_store_testing::Ref;
using series_store_testing::Sample;
using series_store_testing::Sel;

constexpr int64_t kWindow = 1000;
constexpr uint32_t kSeries = 30000;

SeriesStoreOptions Options(bool background) {
  SeriesStoreOptions o;
  o.chunk_window_ms = kWindow;
  o.max_chunk_samples = 1;  // many sealed chunks: sealed arrays of ~1 KiB
  o.defrag = background;
  o.arena_name = "defrag_test";
  return o;
}

Labels LabelsOf(uint32_t i) {
  return {{"__name__", "m"},
          {"instance", absl::StrCat("10.0.", i / 256, ".", i % 256)},
          {"job", absl::StrCat("job", i % 7)}};
}

double Value(uint32_t i, int64_t t) { return static_cast<double>(i) + t; }

// Two series in three live in window 0 only, the third in window 1 only;
// their objects share slabs, so dropping window 0 frees a scattered two
// thirds of them. Returns the survivors' refs.
std::vector<SeriesRef> FillAndTurnOver(SeriesStore& store) {
  std::vector<SeriesRef> refs(kSeries);
  for (uint32_t i = 0; i < kSeries; ++i) refs[i] = Ref(store, LabelsOf(i));
  // Appended in lockstep, so that the survivors' sealed arrays grow through
  // the same slabs as the others'.
  for (int64_t k = 0; k < kWindow; k += 10) {
    for (uint32_t i = 0; i < kSeries; ++i) {
      int64_t t = i % 3 == 0 ? kWindow + k : k;
      store.Append(refs[i], t, Value(i, t));
    }
  }
  REQUIRE(store.Truncate(kWindow) == kSeries - kSeries / 3);
  std::vector<SeriesRef> survivors;
  for (uint32_t i = 0; i < kSeries; i += 3) survivors.push_back(refs[i]);
  return survivors;
}

// Every survivor's labels and samples, read through a selection.
void CheckSurvivors(const SeriesStore& store) {
  SeriesSet set = store.Select(Sel(R"({__name__="m"})"), kNone, kAll);
  REQUIRE(set.series().size() == kSeries / 3);
  for (const auto& e : set.series()) {
    REQUIRE(e.labels.size() == 3);
    const std::string& instance = e.labels[1].value;
    auto dot = instance.rfind('.');
    auto mid = instance.rfind('.', dot - 1);
    uint32_t i = std::stoul(instance.substr(mid + 1, dot - mid - 1)) * 256 +
                 std::stoul(instance.substr(dot + 1));
    REQUIRE(e.labels == LabelsOf(i));
    // One comparison a series: an assertion a sample is most of the run
    // time of a sanitizer build.
    std::vector<Sample> expected;
    for (int64_t t = kWindow; t < 2 * kWindow; t += 10) {
      expected.push_back(Sample{t, std::bit_cast<uint64_t>(Value(i, t))});
    }
    REQUIRE(Read(set, e) == expected);
  }
}

uint64_t Slack(const SeriesStore& store) {
  alloc::MemoryStats m = alloc::CaptureArenaStats(store.arena()).memory;
  return m.active - m.allocated;
}

TEST_CASE("a defragmentation pass moves survivors and frees slabs") {
  SeriesStore store(Options(/*background=*/false));
  FillAndTurnOver(store);
  uint64_t slack_before = Slack(store);
  uint64_t resident_before =
      alloc::CaptureArenaStats(store.arena()).memory.resident;
  store.Defragment();
  alloc::DefragStats d = store.defrag_stats();
  REQUIRE(d.runs == 1);
  REQUIRE(d.moved_objects > 0);
  REQUIRE(d.moved_bytes > 0);
  REQUIRE(d.fragmentation_after < d.fragmentation_before);
  // The emptied slabs are gone and their pages returned.
  REQUIRE(Slack(store) < slack_before / 2);
  REQUIRE(alloc::CaptureArenaStats(store.arena()).memory.resident <
          resident_before);
  CheckSurvivors(store);
  // Appends and new series go on after the moves.
  SeriesRef fresh = Ref(store, {{"__name__", "fresh"}});
  REQUIRE(store.Append(fresh, 2 * kWindow, 1) == AppendResult::kAppended);
  CheckSurvivors(store);
}

TEST_CASE("memory pressure without a runner runs a pass at once") {
  SeriesStore store(Options(/*background=*/false));
  FillAndTurnOver(store);
  REQUIRE_FALSE(store.memory_pressure());
  store.SetMemoryPressure(true);
  REQUIRE(store.memory_pressure());
  REQUIRE(store.defrag_stats().runs == 1);
  REQUIRE(store.defrag_stats().moved_bytes > 0);
  store.SetMemoryPressure(true);  // no change: no second pass
  REQUIRE(store.defrag_stats().runs == 1);
  store.SetMemoryPressure(false);
  REQUIRE_FALSE(store.memory_pressure());
  CheckSurvivors(store);
}

TEST_CASE("the background runner defragments a fragmented store") {
  // The runner may pass while the store fills (a slow build fills for
  // long): the slack it must bring down is that of the same turnover in a
  // store without a runner.
  uint64_t fragmented_slack = 0;
  {
    SeriesStore reference(Options(/*background=*/false));
    FillAndTurnOver(reference);
    fragmented_slack = Slack(reference);
  }
  SeriesStore store(Options(/*background=*/true));
  FillAndTurnOver(store);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((store.defrag_stats().runs == 0 ||
          Slack(store) >= fragmented_slack / 2) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(store.defrag_stats().runs >= 1);
  REQUIRE(store.defrag_stats().moved_bytes > 0);
  REQUIRE(Slack(store) < fragmented_slack / 2);
  CheckSurvivors(store);
}

TEST_CASE("the runner under pressure passes at full effort, then rests") {
  SeriesStore store(Options(/*background=*/true));
  store.SetMemoryPressure(true);
  FillAndTurnOver(store);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store.defrag_stats().moved_bytes == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(store.defrag_stats().moved_bytes > 0);
  // Once a pass moves nothing, no more passes run until objects are freed.
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    runs = store.defrag_stats().runs;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (store.defrag_stats().runs == runs) break;
  }
  REQUIRE(store.defrag_stats().runs == runs);
  CheckSurvivors(store);
}

}  // namespace
}  // namespace keel::core
