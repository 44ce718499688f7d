#include "alloc/purge.h"

#include <jemalloc/jemalloc.h>

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

}  // namespace

uint64_t Purge(Arena& arena) {
  uint64_t before = ResidentBytes(arena.index());
  alloc_internal::WriteMallctl(absl::StrCat("arena.", arena.index(), ".purge"));
  uint64_t after = ResidentBytes(arena.index());
  uint64_t released = before > after ? before - after : 0;
  alloc_internal::CountPurge(arena.index(), released);
  return released;
}

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

}  // namespace keel::alloc
