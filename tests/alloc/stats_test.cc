#include "alloc/stats.h"

#include <catch2/catch.hpp>
#include <vector>

#include "alloc/size_classes.h"

namespace keel::alloc {
namespace {

TEST_CASE("per-class usage counts regions, slabs, utilization and waste") {
  Arena arena("stats_test");
  const auto& classes = SizeClasses::Get();
  const size_t j = classes.IndexOf(100);
  const SmallClass& c = classes.small()[j];
  const size_t count = c.nregs * 10;  // exactly ten full slabs
  std::vector<void*> objects;
  for (size_t i = 0; i < count; ++i) objects.push_back(arena.Allocate(100));

  SizeClassUsage full = CaptureArenaStats(arena).size_classes[j];
  REQUIRE(full.size == 112);
  REQUIRE(full.regions_in_use == count);
  REQUIRE(full.slabs == 10);
  REQUIRE(full.regions_in_slabs == count);
  REQUIRE(full.utilization() == 1.0);
  REQUIRE(full.wasted_bytes() == 0);

  for (size_t i = 0; i < count; i += 2) arena.Deallocate(objects[i], 100);
  SizeClassUsage half = CaptureArenaStats(arena).size_classes[j];
  REQUIRE(half.regions_in_use == count / 2);
  REQUIRE(half.slabs == 10);
  REQUIRE(half.utilization() == Approx(0.5));
  REQUIRE(half.wasted_bytes() == (count - count / 2) * 112);

  for (size_t i = 1; i < count; i += 2) arena.Deallocate(objects[i], 100);
  SizeClassUsage empty = CaptureArenaStats(arena).size_classes[j];
  REQUIRE(empty.regions_in_use == 0);
  REQUIRE(empty.slabs == 0);
  REQUIRE(empty.utilization() == 1.0);
}

TEST_CASE("memory figures are ordered and the process sees every arena") {
  Arena arena("stats_order");
  std::vector<void*> objects;
  for (int i = 0; i < 20000; ++i) objects.push_back(arena.Allocate(200));
  ArenaStats s = CaptureArenaStats(arena);
  REQUIRE(s.name == "stats_order");
  REQUIRE(s.memory.allocated == 20000u * 224);
  REQUIRE(s.memory.allocated <= s.memory.active);
  REQUIRE(s.memory.active <= s.memory.resident);
  REQUIRE(s.memory.resident <= s.memory.mapped + s.memory.metadata);

  ProcessStats p = CaptureStats();
  REQUIRE(p.memory.allocated >= s.memory.allocated);
  REQUIRE(p.memory.resident >= s.memory.resident);
  bool found = false;
  for (const auto& a : p.arenas) found |= a.name == "stats_order";
  REQUIRE(found);
  REQUIRE(ProcessRssBytes() >= s.memory.allocated);
  for (void* q : objects) arena.Deallocate(q, 200);
}

}  // namespace
}  // namespace keel::alloc
