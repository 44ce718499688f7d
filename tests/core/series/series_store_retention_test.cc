// SeriesStore: truncation, retention and the max_series bound.
#include <catch2/catch.hpp>
#include <vector>

#include "core/series/series_store.h"
#include "tests/core/series/series_store_testing.h"

namespace keel::core {
namespace {

using series_store_testing::kAll;
using series_store_testing::kHour;
using series_store_testing::kNone;
using series_store_testing::Read;
using series_store_testing::ReadRef;
using series_store_testing::Ref;
using series_store_testing::Sample;
using series_store_testing::Sel;

TEST_CASE("truncate drops whole windows, empty series and their postings") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  SeriesStore store(options);
  SeriesRef old_only = Ref(store, {{"__name__", "m"}, {"i", "old"}});
  SeriesRef both = Ref(store, {{"__name__", "m"}, {"i", "both"}});
  for (int64_t t = 0; t < kHour; t += 15000) store.Append(old_only, t, 1);
  for (int64_t t = 0; t < 3 * kHour; t += 15000) store.Append(both, t, 2);
  SeriesSet before = store.Cut();

  REQUIRE(store.Truncate(kHour + 10) == 1);  // drops window 0 only
  SeriesStoreStats s = store.Stats();
  REQUIRE(s.series == 1);
  REQUIRE(s.min_time == kHour);
  REQUIRE(s.samples == 2 * 240);
  REQUIRE(store.Select(Sel(R"({i="old"})"), kNone, kAll).series().empty());
  REQUIRE(store.Append(old_only, 4 * kHour, 1) == AppendResult::kUnknownSeries);
  REQUIRE(store.Append(both, 4 * kHour, 1) == AppendResult::kAppended);
  // Too old now, even for a new series.
  SeriesRef fresh = Ref(store, {{"__name__", "m"}, {"i", "new"}});
  REQUIRE(store.Append(fresh, 10, 1) == AppendResult::kTooOld);
  // The set taken before still reads everything it saw.
  REQUIRE(before.series().size() == 2);
  REQUIRE(Read(before, before.series()[0]).size() == 240);
  REQUIRE(Read(before, before.series()[1]).size() == 720);
  // A series with no samples yet has nothing to lose and stays.
  SeriesRef empty = Ref(store, {{"__name__", "m"}, {"i", "empty"}});
  store.Truncate(2 * kHour);
  REQUIRE(store.Append(empty, 4 * kHour + 1, 1) == AppendResult::kAppended);
  // Same labels again: a new series with a new ref.
  SeriesRef again = Ref(store, {{"__name__", "m"}, {"i", "old"}});
  REQUIRE(again != old_only);
  REQUIRE(store.Append(again, 5 * kHour, 3) == AppendResult::kAppended);
}

TEST_CASE("truncate frees chunk memory once no set holds it") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  SeriesStore store(options);
  for (int i = 0; i < 200; ++i) {
    SeriesRef r = Ref(store, {{"__name__", "m"}, {"i", std::to_string(i)}});
    for (int64_t t = 0; t < 2 * kHour; t += 15000) store.Append(r, t, t % 7);
  }
  uint64_t full = store.Stats().chunk_bytes;
  std::size_t dropped;
  {
    SeriesSet held = store.Cut();
    dropped = store.Truncate(kHour);
    REQUIRE(store.Stats().chunk_bytes == full);  // window 0 still held
  }
  REQUIRE(dropped == 0);
  uint64_t after = store.Stats().chunk_bytes;
  REQUIRE(after < full * 6 / 10);
  REQUIRE(store.Truncate(10 * kHour) == 200);
  SeriesStoreStats s = store.Stats();
  REQUIRE(s.series == 0);
  REQUIRE(s.chunk_bytes == 0);
  REQUIRE(s.live_bytes == 0);
}

TEST_CASE("retention keeps the newest windows") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  options.retention_windows = 3;
  SeriesStore store(options);
  SeriesRef r = Ref(store, {{"__name__", "m"}});
  for (int64_t t = 0; t < 10 * kHour; t += 60000) store.Append(r, t, 1);
  TruncateResult dropped = store.ApplyRetention(/*now_ms=*/10 * kHour);
  SeriesStoreStats s = store.Stats();
  REQUIRE(s.min_time == 7 * kHour);
  REQUIRE(s.samples == 180);
  REQUIRE(dropped.series == 0);
  REQUIRE(dropped.chunks == 7);
  REQUIRE(dropped.kept_from == 7 * kHour);
  REQUIRE(store.OldestAppendable() == 7 * kHour);
}

// Issue 13, finding 1: one sample a year ahead used to anchor retention,
// dropping every present series and refusing every present write.
TEST_CASE(
    "retention is anchored to the clock, not to an outlier in the store") {
  constexpr int64_t kNow = 1'700'000'000'000;
  constexpr int64_t kYear = 365 * 24 * kHour;
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  options.retention_windows = 3;
  SeriesStore store(options);
  SeriesRef victim = Ref(store, {{"__name__", "victim"}});
  SeriesRef evil = Ref(store, {{"__name__", "evil"}});
  for (int64_t t = kNow - kHour; t <= kNow; t += 60000) {
    REQUIRE(store.Append(victim, t, 1) == AppendResult::kAppended);
  }
  REQUIRE(store.Append(evil, kNow + kYear, 666) == AppendResult::kAppended);

  TruncateResult dropped = store.ApplyRetention(kNow);
  REQUIRE(dropped.series == 0);
  REQUIRE(dropped.chunks == 0);
  REQUIRE(ReadRef(store, victim).size() == 61);
  REQUIRE(store.Append(victim, kNow + 60000, 2) == AppendResult::kAppended);
  REQUIRE(store.OldestAppendable() <= kNow - 2 * kHour);
  auto fresh = store.Append({{"__name__", "fresh"}}, kNow + 1, 3);
  REQUIRE(fresh.ok());
  REQUIRE(*fresh == AppendResult::kAppended);
  // The clock moves on: retention follows it, the outlier stays harmless.
  dropped = store.ApplyRetention(kNow + 10 * kHour);
  REQUIRE(dropped.series == 2);
  REQUIRE(ReadRef(store, evil).size() == 1);
  REQUIRE(store.Append({{"__name__", "victim"}}, kNow + 10 * kHour, 4).ok());
  REQUIRE(store.Stats().series == 2);
}

TEST_CASE("retention keeps backfilled data while its newest sample is recent") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  options.retention_windows = 3;
  SeriesStore store(options);
  SeriesRef r = Ref(store, {{"__name__", "old"}});
  for (int64_t t = 0; t < 5 * kHour; t += 60000) store.Append(r, t, 1);
  // The clock is years later: the anchor is the newest sample, not now.
  store.ApplyRetention(/*now_ms=*/1'700'000'000'000);
  SeriesStoreStats s = store.Stats();
  REQUIRE(s.series == 1);
  REQUIRE(s.min_time == 2 * kHour);
}

// Issue 13, finding 9: the log line computed dropped chunks as a difference
// of two Stats() calls, which wrapped when appends added more meanwhile.
TEST_CASE("retention counts the chunks it drops, not a difference of totals") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  options.retention_windows = 1;
  SeriesStore store(options);
  for (int i = 0; i < 10; ++i) {
    store.Append({{"__name__", "old"}, {"i", std::to_string(i)}}, 0, 1)
        .IgnoreError();
  }
  uint64_t chunks_before = store.Stats().chunks;
  for (int i = 0; i < 30; ++i) {
    store.Append({{"__name__", "new"}, {"i", std::to_string(i)}}, 5 * kHour, 1)
        .IgnoreError();
  }
  TruncateResult dropped = store.ApplyRetention(/*now_ms=*/5 * kHour);
  REQUIRE(chunks_before == 10);
  REQUIRE(store.Stats().chunks == 30);
  REQUIRE(dropped.chunks == 10);
  REQUIRE(dropped.series == 10);
}

TEST_CASE("retention seals idle heads of closed windows and trims them") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  options.retention_windows = 8;
  SeriesStore store(options);
  std::vector<SeriesRef> stopped, running;
  for (int i = 0; i < 300; ++i) {
    auto labels = [i](const char* kind) {
      return Labels{{"__name__", kind}, {"i", std::to_string(i)}};
    };
    stopped.push_back(Ref(store, labels("stopped")));
    running.push_back(Ref(store, labels("running")));
  }
  // Stopped series get samples in window 0 only (their heads stay open
  // there), running ones until window 2.
  for (int64_t t = 0; t < 3 * kHour; t += 15000) {
    for (int i = 0; i < 300; ++i) {
      if (t < kHour) store.Append(stopped[i], t, i + t % 11);
      store.Append(running[i], t, i - t % 13);
    }
  }
  SeriesStoreStats before = store.Stats();
  std::vector<std::vector<Sample>> samples;
  for (SeriesRef r : stopped) samples.push_back(ReadRef(store, r));
  for (SeriesRef r : running) samples.push_back(ReadRef(store, r));

  TruncateResult dropped = store.ApplyRetention(/*now_ms=*/3 * kHour);
  REQUIRE(dropped.chunks == 0);
  SeriesStoreStats after = store.Stats();
  REQUIRE(after.samples == before.samples);
  REQUIRE(after.chunks == before.chunks);
  REQUIRE(after.live_bytes == before.live_bytes);
  // The stopped heads' capacity and the blocks' tails are given back.
  REQUIRE(after.chunk_bytes < before.chunk_bytes);
  for (int i = 0; i < 300; ++i) {
    REQUIRE(ReadRef(store, stopped[i]) == samples[i]);
    REQUIRE(ReadRef(store, running[i]) == samples[300 + i]);
  }
  // A stopped series that comes back gets a new head; its chunk sealed
  // late into a trimmed window reads back too.
  REQUIRE(store.Append(stopped[0], 3 * kHour, 5) == AppendResult::kAppended);
  REQUIRE(ReadRef(store, stopped[0]).size() == samples[0].size() + 1);
  REQUIRE(store.ApplyRetention(/*now_ms=*/4 * kHour).chunks == 0);
  for (int i = 0; i < 300; ++i) {
    REQUIRE(ReadRef(store, running[i]) == samples[300 + i]);
  }
}

TEST_CASE("max_series bounds live series; restores are not refused") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  options.max_series = 3;
  SeriesStore store(options);
  for (int i = 0; i < 3; ++i) {
    Ref(store, {{"__name__", "m"}, {"i", std::to_string(i)}});
  }
  auto over = store.GetOrCreate({{"__name__", "m"}, {"i", "3"}});
  REQUIRE(absl::IsResourceExhausted(over.status()));
  REQUIRE(over.status().message().find("limit of 3 series (max_series)") !=
          std::string_view::npos);
  REQUIRE(store.GetOrCreate({{"__name__", "m"}, {"i", "0"}}).ok());
  auto append = store.Append({{"__name__", "m"}, {"i", "4"}}, 0, 1);
  REQUIRE(absl::IsResourceExhausted(append.status()));
  REQUIRE(store.Stats().series == 3);
  // Dropped series make room again.
  store.Append({{"__name__", "m"}, {"i", "0"}}, 0, 1).IgnoreError();
  REQUIRE(store.Truncate(kHour) == 1);
  REQUIRE(store.GetOrCreate({{"__name__", "m"}, {"i", "3"}}).ok());

  SeriesStore restored(options);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(
        restored.RestoreSeries({{"__name__", "r"}, {"i", std::to_string(i)}})
            .ok());
  }
  REQUIRE(restored.Stats().series == 5);
  REQUIRE(absl::IsResourceExhausted(
      restored.GetOrCreate({{"__name__", "r"}, {"i", "5"}}).status()));
}

// Issue 13, finding 3: a sample refused as too old used to leave behind an
// empty series that retention never removes.
TEST_CASE("a sample too old for retention creates no series") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kHour;
  SeriesStore store(options);
  store.Append({{"__name__", "m"}}, 3 * kHour, 1).IgnoreError();
  store.Truncate(2 * kHour);
  REQUIRE(store.OldestAppendable() == 2 * kHour);
  auto old = store.Append({{"__name__", "m"}, {"i", "late"}}, 10, 1);
  REQUIRE(old.ok());
  REQUIRE(*old == AppendResult::kTooOld);
  SeriesStoreStats s = store.Stats();
  REQUIRE(s.series == 1);
  REQUIRE(s.too_old == 1);
  REQUIRE(*store.Find({{"__name__", "m"}, {"i", "late"}}) == std::nullopt);
  REQUIRE(store.Select(Sel(R"({i="late"})"), kNone, kAll).series().empty());
}

}  // namespace
}  // namespace keel::core
