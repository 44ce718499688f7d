#include "alloc/purge.h"

#include <jemalloc/jemalloc.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "alloc/stats.h"

namespace keel::alloc {
namespace {

std::vector<void*> Fill(Arena& arena, size_t size, size_t count) {
  std::vector<void*> objects;
  for (size_t i = 0; i < count; ++i) objects.push_back(arena.Allocate(size));
  return objects;
}

TEST_CASE("purge returns freed pages and reports how far resident fell") {
  const bool huge_pages = GENERATE(false, true);
  INFO("huge_pages " << huge_pages);
  Arena arena("purge_test", {.huge_pages = huge_pages});
  auto objects = Fill(arena, 1000, 20000);  // ~20 MB
  uint64_t resident_full = CaptureArenaStats(arena).memory.resident;
  for (void* p : objects) arena.Deallocate(p, 1000);
  uint64_t released = Purge(arena);
  ArenaStats after = CaptureArenaStats(arena);
  REQUIRE(after.memory.dirty == 0);
  REQUIRE(after.memory.muzzy == 0);
  REQUIRE(released >= 15u << 20);
  REQUIRE(after.memory.resident < resident_full - (15u << 20));
  REQUIRE(after.purges == 1);
  REQUIRE(after.purged_bytes == released);
}

TEST_CASE("PurgePolicy purges once frees reach the threshold") {
  Arena arena("policy_test");
  PurgePolicy policy(arena, 4u << 20);
  REQUIRE(policy.threshold() == 4u << 20);
  auto objects = Fill(arena, 4096, 2048);  // 8 MiB
  for (size_t i = 0; i < 512; ++i) arena.Deallocate(objects[i], 4096);
  REQUIRE(policy.Freed(512 * 4096) == 0);  // 2 MiB: below the threshold
  REQUIRE(CaptureArenaStats(arena).purges == 0);
  for (size_t i = 512; i < 1024; ++i) arena.Deallocate(objects[i], 4096);
  REQUIRE(policy.Freed(512 * 4096) > 0);  // 4 MiB in all: purged
  REQUIRE(CaptureArenaStats(arena).purges == 1);
  for (size_t i = 1024; i < 2048; ++i) arena.Deallocate(objects[i], 4096);
  REQUIRE(policy.Freed(1024 * 4096) > 0);  // counting restarted at 0
  REQUIRE(CaptureArenaStats(arena).purges == 2);
}

TEST_CASE("PurgeAll returns the pages malloc's own arenas hold free") {
  // Blocks of a large size class from the thread's automatic arena, through
  // jemalloc's own entry points: under ASan, malloc is the sanitizer's.
  constexpr size_t kBlock = 256 << 10;
  std::vector<void*> blocks;
  for (int i = 0; i < 64; ++i) {
    void* p = mallocx(kBlock, 0);
    REQUIRE(p != nullptr);
    std::memset(p, 'x', kBlock);
    blocks.push_back(p);
  }
  for (void* p : blocks) sdallocx(p, kBlock, 0);  // 16 MiB free, not returned
  REQUIRE(PurgeAll() >= 12u << 20);
}

TEST_CASE("QuietPurger purges an arena whose allocated bytes did not change") {
  Arena arena("quiet_test");
  QuietPurger quiet;
  for (void* p : Fill(arena, 1000, 8000)) arena.Deallocate(p, 1000);
  REQUIRE(CaptureArenaStats(arena).memory.dirty >= 4u << 20);
  quiet.Tick();  // the first tick knows no earlier figures
  REQUIRE(CaptureArenaStats(arena).purges == 0);
  void* kept = arena.Allocate(100);
  quiet.Tick();  // allocated since the previous tick: left to its decay
  REQUIRE(CaptureArenaStats(arena).purges == 0);
  // An object moved, as a defragmentation moves them: no change.
  arena.Deallocate(arena.Allocate(2000), 2000);
  REQUIRE(quiet.Tick() >= 4u << 20);
  ArenaStats after = CaptureArenaStats(arena);
  REQUIRE(after.purges == 1);
  REQUIRE(after.memory.dirty == 0);
  quiet.Tick();  // still no change, but nothing left to purge
  REQUIRE(CaptureArenaStats(arena).purges == 1);
  arena.Deallocate(kept, 100);
}

}  // namespace
}  // namespace keel::alloc
