// Uses keel::alloc the way an application would, from an installed keel.
#include <cstdio>
#include <vector>

#include "keel/alloc/arena.h"
#include "keel/alloc/arena_allocator.h"
#include "keel/alloc/growth_policy.h"
#include "keel/alloc/stats.h"

int main() {
  keel::alloc::Arena arena("consumer");
  {
    std::vector<int, keel::alloc::ArenaAllocator<int>> v{
        keel::alloc::ArenaAllocator<int>(arena)};
    v.resize(1000);
    auto stats = keel::alloc::CaptureArenaStats(arena);
    if (stats.memory.allocated != 4096) {
      std::fprintf(stderr, "allocated %llu, expected 4096\n",
                   static_cast<unsigned long long>(stats.memory.allocated));
      return 1;
    }
  }
  std::printf("consumer ok: next capacity after 128 is %zu\n",
              keel::alloc::GrowthPolicy(128).next(128));
  return 0;
}
