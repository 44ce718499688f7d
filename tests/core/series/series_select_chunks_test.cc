// Select over a series of many sealed chunks: the chunks it hands out are
// exactly those overlapping [mint, maxt] (found by bisection), whatever
// the range's position: before, inside, across or after the data.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "core/series/selector.h"
#include "core/series/series_store.h"

namespace keel::core {
namespace {

TEST_CASE("select hands out exactly the chunks overlapping the range") {
  SeriesStore store;
  auto ref = store.GetOrCreate({{"__name__", "m"}});
  REQUIRE(ref.ok());
  // 20,000 samples 1 s apart: many sealed chunks and a head chunk.
  constexpr int64_t kEnd = 20000 * 1000;
  for (int64_t t = 0; t < kEnd; t += 1000) store.Append(*ref, t, 1);
  auto matchers = ParseSelector("m");
  REQUIRE(matchers.ok());
  SeriesSet all = store.Select(*matchers, 0, kEnd);
  REQUIRE(all.series().size() == 1);
  const auto& chunks = all.series()[0].chunks;
  REQUIRE(chunks.size() > 20);

  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {-5000, -1},
      {-5000, 0},
      {0, 0},
      {chunks[3].max_time, chunks[3].max_time},
      {chunks[3].max_time + 1, chunks[4].min_time},
      {chunks[5].min_time - 1, chunks[9].max_time + 1},
      {chunks[7].min_time + 500, chunks[7].max_time - 500},
      {chunks.back().min_time, kEnd + 5000},
      {kEnd - 1000, kEnd - 1000},
      {kEnd, kEnd + 5000},
  };
  for (const auto& [mint, maxt] : ranges) {
    CAPTURE(mint, maxt);
    std::vector<int64_t> want;
    for (const ChunkData& c : chunks) {
      if (c.max_time >= mint && c.min_time <= maxt) want.push_back(c.min_time);
    }
    SeriesSet set = store.Select(*matchers, mint, maxt);
    std::vector<int64_t> got;
    int64_t samples = 0;
    for (const auto& e : set.series()) {
      for (const ChunkData& c : e.chunks) got.push_back(c.min_time);
      for (auto it = set.Samples(e); it.Next();) ++samples;
    }
    CHECK(got == want);
    int64_t lo = std::max<int64_t>(mint, 0), hi = std::min(maxt, kEnd - 1000);
    CHECK(samples == (hi >= lo ? (hi / 1000) - (lo + 999) / 1000 + 1 : 0));
  }
}

}  // namespace
}  // namespace keel::core
