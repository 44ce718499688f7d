// The fragmentation test (after Redis' memefficiency defrag test): a
// scattered free leaves an arena fragmented; the Defragmenter brings it
// back with every object intact.
#include "alloc/defrag.h"

#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "alloc/purge.h"
#include "alloc/size_classes.h"
#include "alloc/stats.h"
#include "tests/alloc/defrag_objects.h"

namespace keel::alloc {
namespace {

constexpr std::size_t kSizes[] = {40, 96, 200, 448};

// Fills `objects` with `per_size` objects of every size, interleaved as a
// store built over time would have them.
void Fill(Arena& arena, ObjectShards& objects, std::size_t per_size) {
  uint64_t seed = 0;
  auto& shards = objects.shards();
  for (std::size_t i = 0; i < per_size; ++i) {
    for (std::size_t size : kSizes) {
      shards[seed % shards.size()].objects.push_back(
          MakeObject(arena, size, seed));
      ++seed;
    }
  }
}

// Frees each object with probability `fraction`; returns how many it freed.
std::size_t FreeScattered(ObjectShards& objects, double fraction) {
  std::mt19937_64 random(42);
  std::bernoulli_distribution doomed(fraction);
  std::size_t freed = 0;
  for (auto& shard : objects.shards()) {
    for (TestObject& o : shard.objects) {
      if (doomed(random) && o.data != nullptr) {
        objects.Free(o);
        ++freed;
      }
    }
  }
  return freed;
}

double Ratio(const MemoryStats& m) {
  return static_cast<double>(m.active) / static_cast<double>(m.allocated);
}

TEST_CASE("a scattered free at 1.4 or more is defragmented to 1.1 or less") {
  Arena arena("defrag_test");
  ObjectShards objects(arena, 8);
  Fill(arena, objects, 40000);
  const std::size_t total = 4 * 40000;
  REQUIRE(FreeScattered(objects, 0.65) > total * 6 / 10);
  Purge(arena);
  const MemoryStats before = CaptureArenaStats(arena).memory;
  INFO("before: allocated " << before.allocated << " active " << before.active
                            << " resident " << before.resident);
  REQUIRE(Ratio(before) >= 1.4);

  Defragmenter defrag(arena);
  REQUIRE(defrag.Effort() > 0);
  // Passes until one moves nothing; each pass leaves less to move.
  uint64_t moved_last = 0;
  int passes = 0;
  do {
    moved_last = defrag.stats().moved_objects;
    while (!defrag.RunSlice(objects, {.time = std::chrono::hours(1)})) {
    }
    ++passes;
  } while (defrag.stats().moved_objects > moved_last && passes < 8);
  const MemoryStats after = CaptureArenaStats(arena).memory;
  const DefragStats stats = defrag.stats();
  INFO("after: allocated " << after.allocated << " active " << after.active
                           << " resident " << after.resident << " passes "
                           << passes);
  REQUIRE(after.allocated == before.allocated);
  REQUIRE(Ratio(after) <= 1.1);
  REQUIRE(objects.CountCorrupt() == 0);
  // The emptied slabs' pages went back to the kernel.
  REQUIRE(after.dirty == 0);
  REQUIRE(after.resident < before.resident);
  REQUIRE(static_cast<double>(after.resident) <=
          1.2 * static_cast<double>(before.resident) / Ratio(before));

  REQUIRE(stats.runs == static_cast<uint64_t>(passes));
  REQUIRE(stats.moved_objects > 0);
  REQUIRE(stats.fragmentation_after <= 1.1);
  REQUIRE(stats.examined_objects >= stats.moved_objects);
  REQUIRE(defrag.Effort() == 0);  // nothing left worth a pass
  DefragStats totals = TotalDefragStats();
  REQUIRE(totals.runs >= stats.runs);
  REQUIRE(totals.moved_bytes >= stats.moved_bytes);
}

TEST_CASE("objects in full slabs, the current slab or large runs stay") {
  Arena arena("defrag_stay");
  Defragmenter defrag(arena);
  const auto& classes = SizeClasses::Get();
  const SmallClass& c = classes.small()[classes.IndexOf(96)];
  std::vector<void*> full;
  for (std::size_t i = 0; i < c.nregs * 4; ++i) {
    full.push_back(arena.Allocate(96));
  }
  for (void* p : full) REQUIRE_FALSE(defrag.ShouldMove(p));
  // One more object opens a fifth slab, the current one: alone in it, but
  // it would only move into itself.
  TestObject alone = MakeObject(arena, 96, 7);
  REQUIRE_FALSE(defrag.ShouldMove(alone.data));
  REQUIRE(defrag.MaybeMove(alone.data, 96) == nullptr);
  // Emptying all but one region of the first slab makes it the current
  // one (jemalloc fills its oldest slab with room first): its survivor
  // stays, the lone object in the fifth slab moves into it.
  for (std::size_t i = 1; i < c.nregs; ++i) arena.Deallocate(full[i], 96);
  REQUIRE_FALSE(defrag.ShouldMove(full[0]));
  void* moved = defrag.MaybeMove(alone.data, 96);
  REQUIRE(moved != nullptr);
  alone.data = moved;
  REQUIRE(Checksum(alone.data, 96) == alone.checksum);
  auto* first = static_cast<char*>(full[0]);
  REQUIRE(static_cast<char*>(moved) >= first - c.slab_size);
  REQUIRE(static_cast<char*>(moved) < first + c.slab_size);
  REQUIRE(defrag.stats().moved_objects == 1);
  REQUIRE(defrag.stats().moved_bytes == 96);

  void* large = arena.Allocate(1u << 20);
  REQUIRE_FALSE(defrag.ShouldMove(large));
  arena.Deallocate(large, 1u << 20);
  arena.Deallocate(alone.data, 96);
  arena.Deallocate(full[0], 96);
  for (std::size_t i = c.nregs; i < full.size(); ++i) {
    arena.Deallocate(full[i], 96);
  }
}

TEST_CASE("an object budget splits a pass into slices that resume") {
  Arena arena("defrag_slices");
  ObjectShards objects(arena, 4);
  Fill(arena, objects, 2000);  // 8000 objects, 2000 a shard
  FreeScattered(objects, 0.5);
  Defragmenter defrag(arena);
  // A spent time budget stops the walk before its first object.
  REQUIRE_FALSE(defrag.RunSlice(objects, {.time = std::chrono::seconds(0)}));
  REQUIRE(defrag.in_pass());
  REQUIRE(defrag.stats().examined_objects == 0);
  const DefragBudget budget{.time = std::chrono::hours(1), .objects = 400};
  int slices = 2;
  while (!defrag.RunSlice(objects, budget)) {
    REQUIRE(defrag.in_pass());
    ++slices;
    REQUIRE(slices < 100);
  }
  REQUIRE_FALSE(defrag.in_pass());
  std::size_t live = 0;
  for (auto& shard : objects.shards()) {
    for (TestObject& o : shard.objects) live += o.data != nullptr;
  }
  // Every live object examined once; a slice stops at the first batch
  // boundary at or past 400 objects.
  DefragStats stats = defrag.stats();
  REQUIRE(stats.examined_objects == live);
  REQUIRE(stats.runs == 1);
  REQUIRE(stats.slices == static_cast<uint64_t>(slices));
  REQUIRE(static_cast<std::size_t>(slices - 2) * 400 <= live);
  REQUIRE(static_cast<std::size_t>(slices - 1) * (400 + 16) >= live);
  REQUIRE(objects.CountCorrupt() == 0);
}

TEST_CASE("effort is zero unfragmented and grows with fragmentation") {
  Arena arena("defrag_effort");
  ObjectShards objects(arena, 1);
  Fill(arena, objects, 20000);
  Defragmenter defrag(arena, {.min_slack_bytes = 1u << 20});
  REQUIRE(defrag.Effort() == 0);  // every slab full
  FreeScattered(objects, 0.2);
  const double some = defrag.Effort();
  FreeScattered(objects, 0.6);
  const double more = defrag.Effort();
  REQUIRE(some >= defrag.options().cycle_min);
  REQUIRE(more > some);
  REQUIRE(more <= defrag.options().cycle_max);
}

}  // namespace
}  // namespace keel::alloc
