// Memory statistics, read from jemalloc after refreshing its epoch.
//
// Use CaptureArenaStats to watch one subsystem and CaptureStats for the
// whole process (every live Arena plus the process totals), as the
// diagnostics collector does at scrape time.
//
//   keel::alloc::ArenaStats s = keel::alloc::CaptureArenaStats(arena);
//   s.memory.allocated;                 // bytes handed out, by class size
//   s.memory.resident;                  // bytes of physical memory behind it
//
// How to read the figures: allocated <= active <= resident <= mapped.
// active - allocated is slack inside partly used slabs; dirty and muzzy are
// freed pages not yet returned to the kernel (Purge returns them).
//
// Thread safety: every function may be called from any thread. Figures from
// one call are a consistent epoch; two calls may see different epochs.
#ifndef KEEL_ALLOC_STATS_H_
#define KEEL_ALLOC_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "alloc/arena.h"

namespace keel::alloc {

struct MemoryStats {
  uint64_t allocated = 0;  // bytes in live allocations, at class size
  uint64_t active = 0;     // bytes in pages holding live allocations
  uint64_t resident = 0;   // bytes in physically resident pages
  uint64_t mapped = 0;     // bytes in mapped extents
  uint64_t retained = 0;   // bytes unmapped-by-purge but kept as address space
  uint64_t metadata = 0;   // bytes of allocator metadata
  uint64_t dirty = 0;      // bytes in freed pages not yet purged
  uint64_t muzzy = 0;      // bytes in lazily purged pages (MADV_FREE)
};

// One small size class in one arena.
struct SizeClassUsage {
  uint64_t size = 0;              // region size
  uint64_t regions_in_use = 0;    // curregs
  uint64_t regions_in_slabs = 0;  // nregs * curslabs
  uint64_t slabs = 0;             // curslabs

  // curregs / (nregs * curslabs); 1 when the class has no slabs.
  double utilization() const {
    return regions_in_slabs == 0
               ? 1.0
               : static_cast<double>(regions_in_use) / regions_in_slabs;
  }
  uint64_t wasted_bytes() const {
    return (regions_in_slabs - regions_in_use) * size;
  }
};

struct ArenaStats {
  unsigned index = 0;
  std::string name;
  MemoryStats memory;
  std::vector<SizeClassUsage> size_classes;  // every small class, ascending
  uint64_t purges = 0;
  uint64_t purged_bytes = 0;
};

struct ProcessStats {
  MemoryStats memory;  // the whole process, every arena
  // jemalloc's automatic arenas ("malloc.<i>", those plain malloc has used),
  // then every live keel Arena.
  std::vector<ArenaStats> arenas;
};

ArenaStats CaptureArenaStats(const Arena& arena);
ProcessStats CaptureStats();

// The process's resident set size from /proc/self/statm (0 if unreadable).
uint64_t ProcessRssBytes();

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_STATS_H_
