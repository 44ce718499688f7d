// The process-wide list of live Arenas, so that statistics and purge
// counters can be reported for every arena without the caller keeping a list.
#ifndef KEEL_ALLOC_INTERNAL_ARENA_REGISTRY_H_
#define KEEL_ALLOC_INTERNAL_ARENA_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace keel::alloc::alloc_internal {

// One live arena. Owned by its Arena; the registry only points at it.
struct ArenaRecord {
  unsigned index = 0;
  std::string name;
  bool huge_pages = false;  // which extent hooks the jemalloc arena has
  std::atomic<uint64_t> purges{0};
  std::atomic<uint64_t> purged_bytes{0};
};

struct ArenaInfo {
  unsigned index;
  std::string name;
  uint64_t purges;
  uint64_t purged_bytes;
};

// Registers `record`, making its name unique among live arenas first.
void RegisterArena(ArenaRecord* record);
void UnregisterArena(ArenaRecord* record);
std::vector<ArenaInfo> ListArenas();
// Counts a purge of arena `index` that released `bytes` of resident memory.
void CountPurge(unsigned index, uint64_t bytes);

}  // namespace keel::alloc::alloc_internal

#endif  // KEEL_ALLOC_INTERNAL_ARENA_REGISTRY_H_
