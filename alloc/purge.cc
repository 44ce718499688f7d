#include "alloc/purge.h"

#include <jemalloc/jemalloc.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/internal/arena_registry.h"
#include "alloc/internal/mallctl.h"

namespace keel::alloc {
namespace {

uint64_t ResidentBytes(unsigned index) {
  alloc_internal::RefreshEpoch();
  return alloc_internal::ReadMallctl<size_t>(
      absl::StrCat("stats.arenas.", index, ".resident"));
}

uint64_t PurgeIndex(unsigned index) {
  uint64_t before = ResidentBytes(index);
  alloc_internal::WriteMallctl(absl::StrCat("arena.", index, ".purge"));
  uint64_t after = ResidentBytes(index);
  uint64_t released = before > after ? before - after : 0;
  alloc_internal::CountPurge(index, released);
  return released;
}

}  // namespace

uint64_t Purge(Arena& arena) { return PurgeIndex(arena.index()); }

uint64_t PurgeAll() {
  // Fails, with nothing to flush, where the thread has no cache.
  mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
  alloc_internal::RefreshEpoch();
  uint64_t before = alloc_internal::ReadMallctl<size_t>("stats.resident");
  alloc_internal::WriteMallctl(
      absl::StrCat("arena.", MALLCTL_ARENAS_ALL, ".purge"));
  alloc_internal::RefreshEpoch();
  uint64_t after = alloc_internal::ReadMallctl<size_t>("stats.resident");
  return before > after ? before - after : 0;
}

uint64_t PurgePolicy::Freed(std::size_t bytes) {
  std::size_t pending = pending_.fetch_add(bytes) + bytes;
  if (pending < threshold_) return 0;
  // Only the thread that takes the pending bytes purges; the rest go on.
  if (!pending_.compare_exchange_strong(pending, 0)) return 0;
  return Purge(arena_);
}

uint64_t QuietPurger::Tick() {
  using alloc_internal::ReadMallctl;
  // Listed before the epoch is refreshed: an arena's statistics exist only
  // from the first refresh after its creation.
  std::vector<unsigned> arenas;
  const unsigned narenas = ReadMallctl<unsigned>("arenas.narenas");
  for (unsigned i = 0; i < narenas; ++i) {
    if (ReadMallctl<bool>(absl::StrCat("arena.", i, ".initialized"))) {
      arenas.push_back(i);
    }
  }
  alloc_internal::RefreshEpoch();
  static const uint64_t page = ReadMallctl<size_t>("arenas.page");
  std::vector<unsigned> quiet;
  std::map<unsigned, uint64_t> allocated;
  for (unsigned i : arenas) {
    const std::string p = absl::StrCat("stats.arenas.", i, ".");
    const uint64_t bytes = ReadMallctl<size_t>(p + "small.allocated") +
                           ReadMallctl<size_t>(p + "large.allocated");
    allocated[i] = bytes;
    const uint64_t freed = (ReadMallctl<size_t>(p + "pdirty") +
                            ReadMallctl<size_t>(p + "pmuzzy")) *
                           page;
    auto last = allocated_.find(i);
    if (last != allocated_.end() && last->second == bytes &&
        freed >= options_.min_dirty_bytes) {
      quiet.push_back(i);
    }
  }
  allocated_ = std::move(allocated);
  uint64_t released = 0;
  for (unsigned i : quiet) released += PurgeIndex(i);
  return released;
}

}  // namespace keel::alloc
