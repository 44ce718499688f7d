// SeriesStore: refs, label checks, appends, chunk cutting, selection and
// options.
#include "core/series/series_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

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

TEST_CASE("find never creates a series") {
  SeriesStore store;
  SeriesRef r = Ref(store, {{"job", "a"}, {"__name__", "up"}});
  auto found = store.Find({{"__name__", "up"}, {"job", "a"}});
  REQUIRE(found.ok());
  REQUIRE(*found == r);
  auto absent = store.Find({{"__name__", "up"}});
  REQUIRE(absent.ok());
  REQUIRE(!absent->has_value());
  REQUIRE(absl::IsInvalidArgument(store.Find({{"", "x"}}).status()));
  REQUIRE(store.Stats().series == 1);
}

TEST_CASE(
    "get-or-create-if asks before creating, once, and keeps nothing refused") {
  SeriesStore store;
  SeriesRef r = Ref(store, {{"__name__", "up"}, {"job", "a"}});
  int asked = 0;
  auto refuse = [&] {
    ++asked;
    return false;
  };
  // An existing series is found without asking.
  auto found = store.GetOrCreateIf({{"job", "a"}, {"__name__", "up"}}, refuse);
  REQUIRE(found.ok());
  REQUIRE(*found == r);
  REQUIRE(asked == 0);
  // A refused new series leaves no series, string or pair behind.
  const uint64_t allocated = store.Stats().arena.allocated;
  for (int i = 0; i < 1000; ++i) {
    auto absent = store.GetOrCreateIf(
        {{"__name__", "up"}, {"job", "refused-" + std::to_string(i)}}, refuse);
    REQUIRE(absent.ok());
    REQUIRE(!absent->has_value());
  }
  REQUIRE(asked == 1000);
  REQUIRE(store.Stats().series == 1);
  REQUIRE(store.Stats().arena.allocated == allocated);
  // Bad labels fail before asking.
  REQUIRE(absl::IsInvalidArgument(
      store.GetOrCreateIf({{"", "x"}}, refuse).status()));
  REQUIRE(asked == 1000);
  // An admitted one is created and found again.
  auto created = store.GetOrCreateIf({{"__name__", "up"}, {"job", "b"}},
                                     [] { return true; });
  REQUIRE(created.ok());
  REQUIRE(created->has_value());
  REQUIRE(*store.Find({{"__name__", "up"}, {"job", "b"}}) == **created);
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
