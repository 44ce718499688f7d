#include "core/series/postings.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <iterator>
#include <random>
#include <set>

namespace keel::core {
namespace {

std::vector<uint32_t> RandomList(std::mt19937& rng, std::size_t n,
                                 uint32_t range) {
  std::set<uint32_t> s;
  while (s.size() < n) s.insert(rng() % range);
  return {s.begin(), s.end()};
}

TEST_CASE("postings set operations agree with std::set algorithms") {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    auto a = RandomList(rng, rng() % 100, 1000);
    // Sometimes tiny against large, to take the galloping path.
    auto b = RandomList(rng, round % 2 ? rng() % 5 : rng() % 300, 1000);
    std::vector<uint32_t> want;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                          std::back_inserter(want));
    REQUIRE(IntersectPostings(a, b) == want);
    want.clear();
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                        std::back_inserter(want));
    REQUIRE(SubtractPostings(a, b) == want);
    auto c = RandomList(rng, rng() % 50, 1000);
    std::set<uint32_t> all(a.begin(), a.end());
    all.insert(b.begin(), b.end());
    all.insert(c.begin(), c.end());
    std::vector<std::span<const uint32_t>> lists = {a, b, c};
    REQUIRE(MergePostings(lists) ==
            std::vector<uint32_t>(all.begin(), all.end()));
  }
  REQUIRE(MergePostings({}).empty());
}

TEST_CASE("merging many lists (the bitmap path) agrees with std::set") {
  std::mt19937 rng(7);
  for (std::size_t count : {17, 100, 3000}) {
    std::vector<std::vector<uint32_t>> owned;
    std::set<uint32_t> all;
    for (std::size_t i = 0; i < count; ++i) {
      // Short lists, some empty, refs up to the top of uint32 now and then.
      uint32_t range = i % 7 == 0 ? 0xffffff : 5000;
      owned.push_back(RandomList(rng, rng() % 4, range));
      all.insert(owned.back().begin(), owned.back().end());
    }
    std::vector<std::span<const uint32_t>> lists(owned.begin(), owned.end());
    INFO(count);
    REQUIRE(MergePostings(lists) ==
            std::vector<uint32_t>(all.begin(), all.end()));
  }
  std::vector<uint32_t> zero = {0};
  std::vector<std::span<const uint32_t>> lists(20, zero);
  REQUIRE(MergePostings(lists) == std::vector<uint32_t>{0});
}

}  // namespace
}  // namespace keel::core
