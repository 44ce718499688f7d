#include "core/series/series_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/series/selector.h"

namespace keel::core {
namespace {

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kAll = std::numeric_limits<int64_t>::max();
constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

struct Sample {
  int64_t t;
  uint64_t bits;
  friend bool operator==(const Sample&, const Sample&) = default;
};

std::vector<Sample> Read(const SeriesSet& set, const SeriesSet::Entry& e) {
  std::vector<Sample> out;
  for (auto it = set.Samples(e); it.Next();) {
    out.push_back({it.t(), std::bit_cast<uint64_t>(it.v())});
  }
  return out;
}

std::vector<Sample> ReadRef(const SeriesStore& store, SeriesRef ref) {
  SeriesSet set = store.Cut();
  for (const auto& e : set.series()) {
    if (e.ref == ref) return Read(set, e);
  }
  return {};
}

std::vector<Matcher> Sel(const char* text) {
  auto m = ParseSelector(text);
  REQUIRE(m.ok());
  return *m;
}

SeriesRef Ref(SeriesStore& store, Labels labels) {
  auto ref = store.GetOrCreate(std::move(labels));
  REQUIRE(ref.ok());
  return *ref;
}

TEST_CASE("a label set gets one stable ref, in any label order") {
  SeriesStore store;
  SeriesRef a = Ref(store, {{"__name__", "up"}, {"job", "node"}});
  SeriesRef b = Ref(store, {{"job", "node"}, {"__name__", "up"}});
  SeriesRef c = Ref(store, {{"__name__", "up"}, {"job", "api"}});
  REQUIRE(a == b);
  REQUIRE(a != c);
  // An empty value is an absent label.
  REQUIRE(Ref(store, {{"__name__", "up"}, {"job", "node"}, {"x", ""}}) == a);
  REQUIRE(store.Stats().series == 2);
}

TEST_CASE("invalid labels are refused with a clear error") {
  SeriesStoreOptions options;
  options.label_limits.max_labels = 3;
  options.label_limits.max_value_bytes = 8;
  SeriesStore store(options);
  auto bad = [&](Labels l, const char* needle) {
    auto ref = store.GetOrCreate(std::move(l));
    REQUIRE_FALSE(ref.ok());
    INFO(std::string(ref.status().message()));
    REQUIRE(std::string(ref.status().message()).find(needle) !=
            std::string::npos);
  };
  bad({{"1abc", "x"}}, "[a-zA-Z_][a-zA-Z0-9_]*");
  bad({{"a-b", "x"}}, "[a-zA-Z_][a-zA-Z0-9_]*");
  bad({{"a", "\xff"}}, "UTF-8");
  bad({{"a", "\xed\xa0\x80"}}, "UTF-8");  // a surrogate
  bad({{"a", "123456789"}}, "longer than 8");
  bad({{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}}, "limit is 3");
  bad({{"a", "1"}, {"a", "2"}}, "twice");
  bad({{"__name__", "9lives"}}, "metric name");
  bad({}, "at least one label");
  REQUIRE(store.Stats().series == 0);
  REQUIRE(store.GetOrCreate({{"a", "h\xc3\xa9llo"}}).ok());
}

TEST_CASE("append rules: out of order, duplicates and conflicts") {
  SeriesStore store;
  SeriesRef r = Ref(store, {{"__name__", "m"}});
  REQUIRE(store.Append(r, 1000, 1.0) == AppendResult::kAppended);
  REQUIRE(store.Append(r, 2000, 2.0) == AppendResult::kAppended);
  REQUIRE(store.Append(r, 1500, 9.0) == AppendResult::kOutOfOrder);
  REQUIRE(store.Append(r, 2000, 2.0) == AppendResult::kDuplicate);
  REQUIRE(store.Append(r, 2000, 3.0) == AppendResult::kConflict);
  // NaN equal bit for bit is a duplicate; another NaN payload conflicts.
  double nan1 = std::bit_cast<double>(0x7ff8000000000001ull);
  double nan2 = std::bit_cast<double>(0x7ff0000000000002ull);
  REQUIRE(store.Append(r, 3000, nan1) == AppendResult::kAppended);
  REQUIRE(store.Append(r, 3000, nan1) == AppendResult::kDuplicate);
  REQUIRE(store.Append(r, 3000, nan2) == AppendResult::kConflict);
  REQUIRE(store.Append(r + 100, 3000, 1) == AppendResult::kUnknownSeries);
  SeriesStoreStats s = store.Stats();
  REQUIRE(s.samples == 3);
  REQUIRE(s.appended == 3);
  REQUIRE(s.out_of_order == 1);
  REQUIRE(s.duplicates == 2);
  REQUIRE(s.conflicts == 2);
  REQUIRE(s.min_time == 1000);
  REQUIRE(s.max_time == 3000);
  auto samples = ReadRef(store, r);
  REQUIRE(samples == std::vector<Sample>{{1000, std::bit_cast<uint64_t>(1.0)},
                                         {2000, std::bit_cast<uint64_t>(2.0)},
                                         {3000, 0x7ff8000000000001ull}});
}

TEST_CASE("chunks are cut at window ends and at the sample bound") {
  SeriesStoreOptions options;
  options.chunk_window_ms = 2 * kHour;
  options.max_chunk_samples = 120;
  SeriesStore store(options);
  SeriesRef r = Ref(store, {{"__name__", "m"}});
  // 15 s samples over 5 h from 00:00: 480 per window: 4 chunks per full
  // window; 240 + 1 in the third.
  for (int64_t t = 0; t <= 5 * kHour; t += 15000) {
    REQUIRE(store.Append(r, t, static_cast<double>(t)) ==
            AppendResult::kAppended);
  }
  SeriesSet set = store.Cut();
  REQUIRE(set.series().size() == 1);
  auto chunks = set.series()[0].chunks;
  REQUIRE(chunks.size() == 4 + 4 + 3);
  for (const ChunkData& c : chunks) {
    REQUIRE(store.WindowOf(c.min_time) == store.WindowOf(c.max_time));
    REQUIRE(c.samples <= 120);
    REQUIRE(c.encoding == kXorEncoding);
  }
  REQUIRE(chunks[3].max_time == 2 * kHour - 15000);
  REQUIRE(chunks[4].min_time == 2 * kHour);
  REQUIRE(set.sample_count() == 1201);
  REQUIRE(store.Stats().windows == 3);  // two sealed ones, the third's part
}

TEST_CASE("chunks are cut at the byte bound") {
  SeriesStoreOptions options;
  options.max_chunk_bytes = 256;
  SeriesStore store(options);
  SeriesRef r = Ref(store, {{"__name__", "noise"}});
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100; ++i) {
    store.Append(r, i * 1000, std::bit_cast<double>(rng() >> 2));
  }
  SeriesSet set = store.Cut();
  for (const ChunkData& c : set.series()[0].chunks) {
    REQUIRE(c.bytes.size() < 256 + 32);
  }
  REQUIRE(set.series()[0].chunks.size() > 3);
}

TEST_CASE("select applies matchers with Prometheus semantics") {
  SeriesStore store;
  SeriesRef a =
      Ref(store, {{"__name__", "up"}, {"job", "node"}, {"env", "prod"}});
  SeriesRef b = Ref(store, {{"__name__", "up"}, {"job", "api"}});
  SeriesRef c = Ref(store, {{"__name__", "down"}, {"job", "nodes"}});
  for (SeriesRef r : {a, b, c}) store.Append(r, 1000, 1);
  auto refs = [&](const char* selector) {
    std::vector<SeriesRef> out;
    SeriesSet set = store.Select(Sel(selector), kNone, kAll);
    for (const auto& e : set.series()) out.push_back(e.ref);
    return out;
  };
  using V = std::vector<SeriesRef>;
  REQUIRE(refs("up") == V{a, b});
  REQUIRE(refs(R"({job="node"})") == V{a});
  REQUIRE(refs(R"({job=~"node"})") == V{a});  // anchored: not "nodes"
  REQUIRE(refs(R"({job=~"node.*"})") == V{a, c});
  REQUIRE(refs(R"({job!="node"})") == V{b, c});
  REQUIRE(refs(R"({job!~"n.*"})") == V{b});
  // Matchers matching "" also select series lacking the label.
  REQUIRE(refs(R"({env!="prod"})") == V{b, c});
  REQUIRE(refs(R"(up{env=""})") == V{b});
  REQUIRE(refs(R"(up{env=~"|staging"})") == V{b});
  REQUIRE(refs(R"({env=~".*"})") == V{a, b, c});
  REQUIRE(refs(R"({env=~".+"})") == V{a});
  REQUIRE(refs(R"({env!=""})") == V{a});
  REQUIRE(refs(R"({nothere="x"})").empty());
  REQUIRE(refs(R"(up{job="api",env!~"p.*"})") == V{b});
  // Labels come back normalized.
  SeriesSet set = store.Select(Sel(R"({env="prod"})"), kNone, kAll);
  REQUIRE(set.series()[0].labels ==
          Labels{{"__name__", "up"}, {"env", "prod"}, {"job", "node"}});
}

TEST_CASE("select limits series and samples to [mint, maxt]") {
  SeriesStore store;
  SeriesRef early = Ref(store, {{"__name__", "m"}, {"i", "early"}});
  SeriesRef late = Ref(store, {{"__name__", "m"}, {"i", "late"}});
  for (int64_t t = 0; t < 1000; t += 10) store.Append(early, t, 1);
  for (int64_t t = 5000; t < 6000; t += 10) store.Append(late, t, 2);
  SeriesSet set = store.Select(Sel("m"), 500, 5100);
  REQUIRE(set.series().size() == 2);
  auto first = Read(set, set.series()[0]);
  REQUIRE(first.front().t == 500);
  REQUIRE(first.back().t == 990);
  auto second = Read(set, set.series()[1]);
  REQUIRE(second.front().t == 5000);
  REQUIRE(second.back().t == 5100);
  REQUIRE(store.Select(Sel("m"), 2000, 3000).series().empty());
}

TEST_CASE("a set stays consistent while its series keep growing") {
  SeriesStore store;
  SeriesRef r = Ref(store, {{"__name__", "m"}});
  for (int i = 0; i < 50; ++i) store.Append(r, i * 1000, i);
  SeriesSet set = store.Cut();
  // Grow the head chunk far past its buffer, and seal it.
  for (int i = 50; i < 500; ++i) store.Append(r, i * 1000, i * 1.1);
  auto samples = Read(set, set.series()[0]);
  REQUIRE(samples.size() == 50);
  REQUIRE(samples.back().t == 49000);
  REQUIRE(ReadRef(store, r).size() == 500);
}

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
  REQUIRE(absl::IsNotFound(
      store.Find({{"__name__", "m"}, {"i", "late"}}).status()));
  REQUIRE(store.Select(Sel(R"({i="late"})"), kNone, kAll).series().empty());
}

TEST_CASE("find never creates a series") {
  SeriesStore store;
  SeriesRef r = Ref(store, {{"job", "a"}, {"__name__", "up"}});
  auto found = store.Find({{"__name__", "up"}, {"job", "a"}});
  REQUIRE(found.ok());
  REQUIRE(*found == r);
  REQUIRE(absl::IsNotFound(store.Find({{"__name__", "up"}}).status()));
  REQUIRE(absl::IsInvalidArgument(store.Find({{"", "x"}}).status()));
  REQUIRE(store.Stats().series == 1);
}

TEST_CASE("sealed chunks are packed with no slack; the naive layout keeps it") {
  auto fill = [](SeriesStore& store) {
    for (int i = 0; i < 300; ++i) {
      auto r = store.GetOrCreate({{"__name__", "m"}, {"i", std::to_string(i)}});
      for (int j = 0; j < 600; ++j) {
        store.Append(*r, j * 15000, (i * j) % 1000 * 0.5);
      }
    }
    return store.Stats();
  };
  SeriesStore packed;
  SeriesStoreStats p = fill(packed);
  // Small store: head chunks and the last block of each window weigh more.
  REQUIRE(static_cast<double>(p.chunk_bytes) / p.live_bytes < 1.20);
  SeriesStoreOptions naive;
  naive.sealed_layout = SealedChunkLayout::kOwnBuffer;
  naive.head_min_growth = 1.0;
  SeriesStore own(naive);
  SeriesStoreStats o = fill(own);
  REQUIRE(o.live_bytes == p.live_bytes);
  REQUIRE(o.chunk_bytes > p.chunk_bytes * 12 / 10);
}

TEST_CASE("restore rebuilds a store chunk by chunk") {
  for (auto layout :
       {SealedChunkLayout::kPackedPerWindow, SealedChunkLayout::kOwnBuffer}) {
    for (auto memory : {ChunkMemory::kArena, ChunkMemory::kLibcMalloc}) {
      SeriesStore source;
      std::mt19937_64 rng(3);
      for (int i = 0; i < 20; ++i) {
        auto r =
            source.GetOrCreate({{"__name__", "m"}, {"i", std::to_string(i)}});
        for (int j = 0; j < 1000; ++j) {
          source.Append(*r, j * 15000 + i, std::bit_cast<double>(rng()));
        }
      }
      SeriesStoreOptions options;
      options.sealed_layout = layout;
      options.chunk_memory = memory;
      options.restore_capacity = RestoreCapacity::kExact;
      SeriesStore restored(options);
      SeriesSet cut = source.Cut();
      std::map<SeriesRef, SeriesRef> refs;
      for (const auto& e : cut.series()) {
        auto ref = restored.RestoreSeries(e.labels);
        REQUIRE(ref.ok());
        refs[e.ref] = *ref;
        REQUIRE(restored.RestoreSeries(e.labels).status().code() ==
                absl::StatusCode::kAlreadyExists);
      }
      for (const auto& e : cut.series()) {
        for (const ChunkData& c : e.chunks) {
          REQUIRE(restored.RestoreChunk(refs[e.ref], c).ok());
        }
      }
      SeriesSet back = restored.Cut();
      REQUIRE(back.series().size() == cut.series().size());
      for (std::size_t i = 0; i < cut.series().size(); ++i) {
        REQUIRE(back.series()[i].labels == cut.series()[i].labels);
        REQUIRE(Read(back, back.series()[i]) == Read(cut, cut.series()[i]));
      }
      REQUIRE(restored.Stats().live_bytes == source.Stats().live_bytes);
      // Appends continue after the restored chunks, in a new head chunk.
      SeriesRef r = refs[cut.series()[0].ref];
      int64_t last = cut.series()[0].chunks.back().max_time;
      REQUIRE(restored.Append(r, last, 1.0) == AppendResult::kConflict);
      REQUIRE(restored.Append(r, last - 1, 1.0) == AppendResult::kOutOfOrder);
      REQUIRE(restored.Append(r, last + 1, 1.0) == AppendResult::kAppended);
    }
  }
}

// Numbers the distinct strings of `labels` for a SeriesRestorer.
struct StringTable {
  std::map<std::string, uint32_t> ids;
  std::vector<std::string> strings;
  std::vector<RestoreLabel> Of(const Labels& labels) {
    std::vector<RestoreLabel> out;
    for (const Label& l : labels) out.push_back({Id(l.name), Id(l.value)});
    return out;
  }
  uint32_t Id(const std::string& s) {
    auto [it, added] = ids.try_emplace(s, static_cast<uint32_t>(ids.size()));
    if (added) strings.push_back(s);
    return it->second;
  }
};

TEST_CASE("a bulk restore builds the store a chunk-by-chunk restore does") {
  for (auto layout :
       {SealedChunkLayout::kPackedPerWindow, SealedChunkLayout::kOwnBuffer}) {
    SeriesStore source;
    std::mt19937_64 rng(5);
    for (int i = 0; i < 40; ++i) {
      // "x" is the value of two names; series get 1 to ~17 chunks, below
      // and above the average the restorer allocates for.
      Labels labels = {{"__name__", i % 2 ? "a" : "b"},
                       {i % 3 ? "x" : "y", "x"},
                       {"i", std::to_string(i)}};
      SeriesRef r = Ref(source, labels);
      for (int j = 0; j < (i % 4 == 0 ? 2000 : 100); ++j) {
        source.Append(r, j * 15000 + i, std::bit_cast<double>(rng()));
      }
    }
    SeriesSet cut = source.Cut();
    SeriesStoreOptions options;
    options.sealed_layout = layout;
    SeriesStore one(options);
    SeriesStore bulk(options);
    StringTable table;
    std::vector<std::vector<RestoreLabel>> labels;
    for (const auto& e : cut.series()) labels.push_back(table.Of(e.labels));
    auto restorer = bulk.BeginRestore(
        {table.strings.size(), cut.series().size(), cut.chunk_count()});
    REQUIRE(restorer.ok());
    for (const std::string& s : table.strings) restorer->AddString(s);
    std::map<SeriesRef, SeriesRef> one_refs, bulk_refs;
    for (std::size_t i = 0; i < cut.series().size(); ++i) {
      const auto& e = cut.series()[i];
      one_refs[e.ref] = *one.RestoreSeries(e.labels);
      auto ref = restorer->AddSeries(labels[i]);
      REQUIRE(ref.ok());
      bulk_refs[e.ref] = *ref;
      CHECK(restorer->AddSeries(labels[i]).status().code() ==
            absl::StatusCode::kAlreadyExists);
    }
    // Chronological order, as a snapshot holds them.
    std::vector<std::pair<const ChunkData*, SeriesRef>> chunks;
    for (const auto& e : cut.series()) {
      for (const ChunkData& c : e.chunks) chunks.push_back({&c, e.ref});
    }
    std::stable_sort(chunks.begin(), chunks.end(), [](auto& a, auto& b) {
      return a.first->min_time < b.first->min_time;
    });
    for (auto [c, ref] : chunks) {
      REQUIRE(one.RestoreChunk(one_refs[ref], *c).ok());
      REQUIRE(restorer->AddChunk(bulk_refs[ref], *c).ok());
    }
    CHECK(restorer
              ->AddChunk(bulk_refs[cut.series()[0].ref],
                         cut.series()[0].chunks[0])
              .code() == absl::StatusCode::kInvalidArgument);
    restorer->Finish();

    SeriesStoreStats a = one.Stats();
    SeriesStoreStats b = bulk.Stats();
    CHECK(b.series == a.series);
    CHECK(b.chunks == a.chunks);
    CHECK(b.samples == a.samples);
    CHECK(b.live_bytes == a.live_bytes);
    CHECK(b.chunk_bytes == a.chunk_bytes);
    CHECK(b.min_time == a.min_time);
    CHECK(b.max_time == a.max_time);
    for (const char* selector :
         {"{__name__=\"a\"}", "{x=\"x\"}", "{y=\"x\", __name__=\"b\"}",
          "{i=~\"1.*\"}", "{__name__=~\".+\", x!=\"x\"}"}) {
      SeriesSet x = one.Select(Sel(selector), kNone, kAll);
      SeriesSet y = bulk.Select(Sel(selector), kNone, kAll);
      INFO(selector);
      REQUIRE(x.series().size() == y.series().size());
      for (std::size_t i = 0; i < x.series().size(); ++i) {
        CHECK(x.series()[i].labels == y.series()[i].labels);
        CHECK(Read(x, x.series()[i]) == Read(y, y.series()[i]));
      }
    }
    // The restored store finds its series by labels and takes appends.
    const auto& first = cut.series()[0];
    CHECK(Ref(bulk, first.labels) == bulk_refs[first.ref]);
    CHECK(bulk.Append(bulk_refs[first.ref], first.chunks.back().max_time + 1,
                      1.0) == AppendResult::kAppended);
    CHECK(bulk.BeginRestore({}).status().code() ==
          absl::StatusCode::kFailedPrecondition);
  }
}

TEST_CASE("a bulk restore checks labels as NormalizeLabels does") {
  SeriesStore store;
  StringTable table;
  auto restorer = store.BeginRestore({});
  REQUIRE(restorer.ok());
  for (const char* s :
       {"__name__", "up", "job", "", "1bad", "bad-name", "node", "\xff"}) {
    table.Id(s);
    restorer->AddString(s);
  }
  auto add = [&](Labels labels) {
    return restorer->AddSeries(table.Of(labels));
  };
  // Out of order and with an empty value: normalized, as GetOrCreate does.
  auto up = add({{"job", "node"}, {"__name__", "up"}, {"up", ""}});
  REQUIRE(up.ok());
  CHECK(add({{"__name__", "up"}, {"job", "node"}}).status().code() ==
        absl::StatusCode::kAlreadyExists);
  for (Labels bad : std::vector<Labels>{{{"__name__", "1bad"}},
                                        {{"", "up"}},
                                        {{"bad-name", "up"}},
                                        {{"job", "\xff"}},
                                        {{"job", "node"}, {"job", "up"}},
                                        {{"job", ""}}}) {
    Labels copy = bad;
    absl::Status want = NormalizeLabels(copy, LabelLimits());
    REQUIRE_FALSE(want.ok());
    CHECK(add(bad).status() == want);
  }
  std::vector<RestoreLabel> unknown = {{0, 99}};
  CHECK(restorer->AddSeries(unknown).status().code() ==
        absl::StatusCode::kInvalidArgument);
  restorer->Finish();
  CHECK(store.Stats().series == 1);
  CHECK(Ref(store, {{"job", "node"}, {"__name__", "up"}}) == *up);
}

TEST_CASE("restore refuses chunks that do not fit") {
  SeriesStore source;
  SeriesRef s = Ref(source, {{"__name__", "m"}});
  for (int j = 0; j < 10; ++j) source.Append(s, 1000 + j, j);
  SeriesSet cut = source.Cut();
  ChunkData chunk = cut.series()[0].chunks[0];

  SeriesStore store;
  auto ref = store.RestoreSeries({{"__name__", "m"}});
  REQUIRE(ref.ok());
  ChunkData bad = chunk;
  bad.samples = 9;
  REQUIRE(store.RestoreChunk(*ref, bad).code() ==
          absl::StatusCode::kInvalidArgument);
  bad = chunk;
  bad.min_time = 999;
  REQUIRE_FALSE(store.RestoreChunk(*ref, bad).ok());
  bad = chunk;
  bad.encoding = 2;
  REQUIRE_FALSE(store.RestoreChunk(*ref, bad).ok());
  bad = chunk;
  bad.max_time = 3 * kHour;
  REQUIRE_FALSE(store.RestoreChunk(*ref, bad).ok());
  REQUIRE(store.RestoreChunk(*ref + 1, chunk).code() ==
          absl::StatusCode::kNotFound);
  REQUIRE(store.RestoreChunk(*ref, chunk).ok());
  REQUIRE(store.RestoreChunk(*ref, chunk).code() ==
          absl::StatusCode::kInvalidArgument);  // not after the last one
  REQUIRE(store.Stats().samples == 10);
}

TEST_CASE("every sample reads back bit-exact, extremes included") {
  SeriesStore store;
  SeriesRef r = Ref(store, {{"__name__", "m"}});
  std::mt19937_64 rng(11);
  std::vector<Sample> want;
  int64_t t = std::numeric_limits<int64_t>::min();
  for (int i = 0; i < 5000; ++i) {
    uint64_t bits = i % 3 == 0 ? rng() : std::bit_cast<uint64_t>(i * 0.5);
    if (i % 97 == 0) bits = 0x7ff0000000000002ull;
    if (i % 89 == 0) bits = std::bit_cast<uint64_t>(-0.0);
    INFO("sample " << i << " at " << t);
    REQUIRE(store.Append(r, t, std::bit_cast<double>(bits)) ==
            AppendResult::kAppended);
    want.push_back({t, bits});
    uint64_t step = i % 500 == 0 ? (uint64_t{1} << 60) : 1 + rng() % 100000;
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + step);
  }
  int64_t last = std::numeric_limits<int64_t>::max();
  REQUIRE(store.Append(r, last, 1.0) == AppendResult::kAppended);
  want.push_back({last, std::bit_cast<uint64_t>(1.0)});
  REQUIRE(ReadRef(store, r) == want);
}

TEST_CASE("CheckOptions refuses every option outside its range") {
  REQUIRE(SeriesStore::CheckOptions(SeriesStoreOptions()).ok());
  auto refused = [](void (*set)(SeriesStoreOptions&), const char* names) {
    SeriesStoreOptions o;
    set(o);
    absl::Status s = SeriesStore::CheckOptions(o);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(s.message()), Catch::Contains(names));
  };
  // The smallest head chunk holds the header and one worst-case append.
  refused([](SeriesStoreOptions& o) { o.head_first_capacity = 16; },
          "head_first_capacity 16 is outside 30..4096");
  refused([](SeriesStoreOptions& o) { o.head_first_capacity = 29; },
          "head_first_capacity 29");
  refused([](SeriesStoreOptions& o) { o.head_first_capacity = 4097; },
          "head_first_capacity 4097");
  refused([](SeriesStoreOptions& o) { o.arena_name = nullptr; }, "arena_name");
  refused([](SeriesStoreOptions& o) { o.head_min_growth = std::nan(""); },
          "head_min_growth");
  refused([](SeriesStoreOptions& o) { o.chunk_window_ms = 0; },
          "chunk window 0 ms");
  refused([](SeriesStoreOptions& o) { o.max_chunk_bytes = 15; },
          "max_chunk_bytes 15");
  refused([](SeriesStoreOptions& o) { o.label_limits.max_labels = 256; },
          "max_labels 256");
  SeriesStoreOptions edge;
  edge.head_first_capacity = kXorHeaderBytes + kXorAppendReserve;
  CHECK(SeriesStore::CheckOptions(edge).ok());
  edge.head_first_capacity = 4096;
  CHECK(SeriesStore::CheckOptions(edge).ok());
}

TEST_CASE("a store given bad options stops rather than change them") {
  // In a child process: the constructor aborts.
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    SeriesStoreOptions o;
    o.head_first_capacity = 16;
    SeriesStore store(o);
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}

}  // namespace
}  // namespace keel::core
