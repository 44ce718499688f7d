#include "alloc/internal/arena_registry.h"

#include <algorithm>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"

namespace keel::alloc::alloc_internal {
namespace {

// std::mutex rather than absl::Mutex: ThreadSanitizer sees through it with
// Debian's uninstrumented Abseil, and defragmentation runners list the arenas
// while other threads create and destroy them.
struct Registry {
  std::mutex mu;
  std::vector<ArenaRecord*> live ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;  // never destroyed: arenas may
  return *registry;                          // outlive static destruction
}

}  // namespace

void RegisterArena(ArenaRecord* record) {
  Registry& registry = GetRegistry();
  std::lock_guard lock(registry.mu);
  bool taken = std::any_of(
      registry.live.begin(), registry.live.end(),
      [&](const ArenaRecord* other) { return other->name == record->name; });
  if (taken) absl::StrAppend(&record->name, ".", record->index);
  registry.live.push_back(record);
}

void UnregisterArena(ArenaRecord* record) {
  Registry& registry = GetRegistry();
  std::lock_guard lock(registry.mu);
  std::erase(registry.live, record);
}

std::vector<ArenaInfo> ListArenas() {
  Registry& registry = GetRegistry();
  std::lock_guard lock(registry.mu);
  std::vector<ArenaInfo> arenas;
  arenas.reserve(registry.live.size());
  for (const ArenaRecord* record : registry.live) {
    arenas.push_back({record->index, record->name, record->purges.load(),
                      record->purged_bytes.load()});
  }
  return arenas;
}

void CountPurge(unsigned index, uint64_t bytes) {
  Registry& registry = GetRegistry();
  std::lock_guard lock(registry.mu);
  for (ArenaRecord* record : registry.live) {
    if (record->index == index) {
      record->purges.fetch_add(1);
      record->purged_bytes.fetch_add(bytes);
    }
  }
}

}  // namespace keel::alloc::alloc_internal
