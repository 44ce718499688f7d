#include "alloc/arena_allocator.h"

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "alloc/stats.h"

namespace keel::alloc {
namespace {

TEST_CASE("std::vector allocates from the arena") {
  Arena arena("vector");
  {
    std::vector<int, ArenaAllocator<int>> v{ArenaAllocator<int>(arena)};
    for (int i = 0; i < 10000; ++i) v.push_back(i);
    REQUIRE(CaptureArenaStats(arena).memory.allocated >= 10000 * sizeof(int));
    long sum = 0;
    for (int x : v) sum += x;
    REQUIRE(sum == 49995000);
    auto copy = v;
    REQUIRE(copy.get_allocator() == v.get_allocator());
  }
  REQUIRE(CaptureArenaStats(arena).memory.allocated == 0);
}

TEST_CASE("absl::flat_hash_map allocates from the arena") {
  Arena arena("map");
  using Alloc = ArenaAllocator<std::pair<const int, std::string>>;
  {
    absl::flat_hash_map<int, std::string, absl::Hash<int>, std::equal_to<int>,
                        Alloc>
        map(0, absl::Hash<int>(), std::equal_to<int>(), Alloc(arena));
    for (int i = 0; i < 5000; ++i) map[i] = std::to_string(i);
    REQUIRE(map.size() == 5000);
    REQUIRE(map.at(4321) == "4321");
    map.erase(4321);
    REQUIRE(!map.contains(4321));
    REQUIRE(CaptureArenaStats(arena).memory.allocated > 5000 * sizeof(int));
  }
  REQUIRE(CaptureArenaStats(arena).memory.allocated == 0);
}

TEST_CASE("allocators compare equal exactly when they share an arena") {
  Arena a("a");
  Arena b("b");
  REQUIRE(ArenaAllocator<int>(a) == ArenaAllocator<char>(a));
  REQUIRE(!(ArenaAllocator<int>(a) == ArenaAllocator<int>(b)));
  ArenaAllocator<long> rebound{ArenaAllocator<int>(b)};
  REQUIRE(rebound.arena() == &b);
}

}  // namespace
}  // namespace keel::alloc
