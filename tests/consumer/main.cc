// Uses keel the way an application would, from an installed keel: an arena
// (keel::alloc) and a prefix table (keel::core), whose headers include
// others by their installed paths.
#include <cstdio>
#include <vector>

#include "keel/alloc/arena.h"
#include "keel/alloc/arena_allocator.h"
#include "keel/alloc/growth_policy.h"
#include "keel/alloc/stats.h"
#include "keel/core/prefixes/prefix_table.h"

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
  using keel::core::IpAddress;
  using keel::core::Prefix;
  keel::core::PrefixTable<unsigned> table;
  table.Insert(*Prefix::Parse("192.0.2.0/24"), 64500);
  auto match = table.Longest(*IpAddress::Parse("192.0.2.7"));
  if (!match || match->value != 64500) {
    std::fprintf(stderr, "longest match of 192.0.2.7 is not AS64500\n");
    return 1;
  }
  std::printf("consumer ok: next capacity after 128 is %zu, 192.0.2.7 in %s\n",
              keel::alloc::GrowthPolicy(128).Next(128),
              match->prefix.ToString().c_str());
  return 0;
}
