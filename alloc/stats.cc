#include "alloc/stats.h"

#include <jemalloc/jemalloc.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/internal/arena_registry.h"
#include "alloc/internal/mallctl.h"
#include "alloc/size_classes.h"

namespace keel::alloc {
namespace {

using alloc_internal::ReadMallctl;

uint64_t PageSize() {
  static const uint64_t page = ReadMallctl<size_t>("arenas.page");
  return page;
}

// Figures kept per arena; `index` may be MALLCTL_ARENAS_ALL for the merged
// view of every arena.
MemoryStats ReadArenaMemory(unsigned index) {
  std::string p = absl::StrCat("stats.arenas.", index, ".");
  MemoryStats m;
  m.allocated = ReadMallctl<size_t>(p + "small.allocated") +
                ReadMallctl<size_t>(p + "large.allocated");
  m.active = ReadMallctl<size_t>(p + "pactive") * PageSize();
  m.dirty = ReadMallctl<size_t>(p + "pdirty") * PageSize();
  m.muzzy = ReadMallctl<size_t>(p + "pmuzzy") * PageSize();
  m.resident = ReadMallctl<size_t>(p + "resident");
  m.mapped = ReadMallctl<size_t>(p + "mapped");
  m.retained = ReadMallctl<size_t>(p + "retained");
  m.metadata = ReadMallctl<size_t>(p + "base") +
               ReadMallctl<size_t>(p + "internal") +
               ReadMallctl<size_t>(p + "metadata_thp");
  return m;
}

std::vector<SizeClassUsage> ReadSizeClasses(unsigned index) {
  std::vector<SizeClassUsage> usage;
  auto small = SizeClasses::Get().small();
  usage.reserve(small.size());
  for (size_t j = 0; j < small.size(); ++j) {
    std::string p = absl::StrCat("stats.arenas.", index, ".bins.", j, ".");
    SizeClassUsage u;
    u.size = small[j].size;
    u.regions_in_use = ReadMallctl<size_t>(p + "curregs");
    u.slabs = ReadMallctl<size_t>(p + "curslabs");
    u.regions_in_slabs = u.slabs * small[j].nregs;
    usage.push_back(u);
  }
  return usage;
}

ArenaStats ReadArena(unsigned index, std::string name, uint64_t purges,
                     uint64_t purged_bytes) {
  return {
      index,  std::move(name), ReadArenaMemory(index), ReadSizeClasses(index),
      purges, purged_bytes};
}

}  // namespace

// jemalloc's statistics of an arena exist from the first epoch refresh after
// its creation on (before it, stats.arenas.<i> is ENOENT): so the arenas to
// read are listed first and the epoch refreshed after, and an arena another
// thread creates meanwhile shows in the next capture.

ArenaStats CaptureArenaStats(const Arena& arena) {
  const auto arenas = alloc_internal::ListArenas();
  alloc_internal::RefreshEpoch();
  for (auto& info : arenas) {
    if (info.index == arena.index()) {
      return ReadArena(info.index, info.name, info.purges, info.purged_bytes);
    }
  }
  return ReadArena(arena.index(), arena.name(), 0, 0);
}

ProcessStats CaptureStats() {
  // jemalloc's automatic arenas serve plain malloc, each initialized by the
  // first thread that uses it; showing them beside keel's own lets a reader
  // see where the rest of the process's memory is.
  std::vector<unsigned> automatic;
  const unsigned narenas = ReadMallctl<unsigned>("opt.narenas");
  for (unsigned i = 0; i < narenas; ++i) {
    if (ReadMallctl<bool>(absl::StrCat("arena.", i, ".initialized"))) {
      automatic.push_back(i);
    }
  }
  const auto arenas = alloc_internal::ListArenas();
  alloc_internal::RefreshEpoch();
  ProcessStats stats;
  MemoryStats& m = stats.memory;
  m.allocated = ReadMallctl<size_t>("stats.allocated");
  m.active = ReadMallctl<size_t>("stats.active");
  m.resident = ReadMallctl<size_t>("stats.resident");
  m.mapped = ReadMallctl<size_t>("stats.mapped");
  m.retained = ReadMallctl<size_t>("stats.retained");
  m.metadata = ReadMallctl<size_t>("stats.metadata");
  MemoryStats merged = ReadArenaMemory(MALLCTL_ARENAS_ALL);
  m.dirty = merged.dirty;
  m.muzzy = merged.muzzy;
  for (unsigned i : automatic) {
    stats.arenas.push_back(ReadArena(i, absl::StrCat("malloc.", i), 0, 0));
  }
  for (auto& info : arenas) {
    stats.arenas.push_back(
        ReadArena(info.index, info.name, info.purges, info.purged_bytes));
  }
  return stats;
}

uint64_t ProcessRssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int fields = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (fields != 2) return 0;
  return static_cast<uint64_t>(resident) * sysconf(_SC_PAGESIZE);
}

}  // namespace keel::alloc
