// SeriesStore: restoring chunk by chunk and in bulk, and what a restore
// refuses.
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/series/series_store.h"
#include "tests/core/series/series_store_testing.h"

namespace keel::core {
namespace {

using series_store_testing::kAll;
using series_store_testing::kHour;
using series_store_testing::kNone;
using series_store_testing::Read;
using series_store_testing::Ref;
using series_store_testing::Sel;

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

}  // namespace
}  // namespace keel::core
