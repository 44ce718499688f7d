// The trie's cache of freed nodes: reuse, its budget, and the flush that
// makes room for the sizes the writer asks for now.
#include "core/prefixes/internal/prefix_node_pool.h"

#include <catch2/catch.hpp>

#include "alloc/arena.h"
#include "alloc/stats.h"
#include "core/prefixes/internal/prefix_node.h"

namespace keel::core::core_internal {
namespace {

uint64_t ArenaAllocated(const alloc::Arena& arena) {
  return alloc::CaptureArenaStats(arena).memory.allocated;
}

TEST_CASE("a freed node comes back for the next allocation of its size",
          "[prefix_node_pool]") {
  alloc::Arena arena("prefix_node_pool_test");
  PrefixNodePool pool(arena);
  const uint32_t small = NodeCapacity(160), large = NodeCapacity(1000);
  void* a = pool.Allocate(small);
  void* b = pool.Allocate(large);
  pool.Deallocate(a, small, 64 << 10);
  pool.Deallocate(b, large, 64 << 10);
  REQUIRE(pool.cached_bytes() == small + large);
  // Cached nodes stay the arena's allocations.
  REQUIRE(ArenaAllocated(arena) == small + large);
  REQUIRE(pool.Allocate(large) == b);
  REQUIRE(pool.Allocate(small) == a);
  REQUIRE(pool.cached_bytes() == 0);
  pool.Deallocate(a, small, 64 << 10);
  pool.Deallocate(b, large, 64 << 10);
}

TEST_CASE("a node past the budget flushes the cache, then is cached",
          "[prefix_node_pool]") {
  alloc::Arena arena("prefix_node_pool_test");
  PrefixNodePool pool(arena);
  const uint32_t stale = NodeCapacity(2000), fresh = NodeCapacity(160);
  const size_t budget = 4 * stale;
  // A cache full of a size nobody asks for any more...
  void* blocks[4];
  for (void*& block : blocks) block = pool.Allocate(stale);
  for (void* block : blocks) pool.Deallocate(block, stale, budget);
  REQUIRE(pool.cached_bytes() == 4 * stale);
  // ...makes way for the size being freed and allocated now.
  void* hot = pool.Allocate(fresh);
  pool.Deallocate(hot, fresh, budget);
  REQUIRE(pool.cached_bytes() == fresh);
  REQUIRE(ArenaAllocated(arena) == fresh);
  REQUIRE(pool.Allocate(fresh) == hot);
  pool.Deallocate(hot, fresh, budget);
  pool.Flush();
  REQUIRE(pool.cached_bytes() == 0);
  REQUIRE(ArenaAllocated(arena) == 0);
}

}  // namespace
}  // namespace keel::core::core_internal
