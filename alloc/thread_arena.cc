#include "alloc/thread_arena.h"

#include <jemalloc/jemalloc.h>

#include <map>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "alloc/internal/mallctl.h"

namespace keel::alloc {
namespace {

// The arena index the calling thread is bound to by a ThreadArena, or none.
thread_local unsigned bound_index = ~0u;

void WriteSsize(const std::string& name, ssize_t value) {
  if (int error =
          mallctl(name.c_str(), nullptr, nullptr, &value, sizeof(value));
      error != 0) {
    alloc_internal::MallctlFailed(name, error);
  }
}

}  // namespace

ThreadArena& ThreadArena::Named(const std::string& name,
                                ThreadArenaOptions options) {
  static std::mutex mu;
  // Never destroyed: see the header.
  static auto* arenas = new std::map<std::string, ThreadArena*>;
  std::lock_guard lock(mu);
  ThreadArena*& arena = (*arenas)[name];
  if (arena == nullptr) arena = new ThreadArena(name, options);
  return *arena;
}

ThreadArena::ThreadArena(std::string name, const ThreadArenaOptions& options)
    : arena_(std::move(name)),
      options_(options),
      purge_(arena_, options.purge_threshold) {
  const std::string prefix = absl::StrCat("arena.", arena_.index(), ".");
  WriteSsize(prefix + "dirty_decay_ms", options.dirty_decay_ms);
  WriteSsize(prefix + "muzzy_decay_ms", options.muzzy_decay_ms);
}

void ThreadArena::Bind() {
  unsigned index = arena_.index();
  if (bound_index == index) return;
  if (int error =
          mallctl("thread.arena", nullptr, nullptr, &index, sizeof(index));
      error != 0) {
    alloc_internal::MallctlFailed("thread.arena", error);
  }
  if (!options_.thread_cache) {
    bool enabled = false;
    if (int error = mallctl("thread.tcache.enabled", nullptr, nullptr, &enabled,
                            sizeof(enabled));
        error != 0) {
      alloc_internal::MallctlFailed("thread.tcache.enabled", error);
    }
  }
  bound_index = index;
}

ThreadArena::Binding::Binding(ThreadArena& arena)
    : previous_bound_(bound_index) {
  // The thread's cache holds regions of the arena it used so far: emptied,
  // the allocations made while bound come from `arena` alone.
  FlushThreadCache();
  unsigned index = arena.arena_.index();
  size_t size = sizeof(previous_index_);
  if (int error = mallctl("thread.arena", &previous_index_, &size, &index,
                          sizeof(index));
      error != 0) {
    alloc_internal::MallctlFailed("thread.arena", error);
  }
  bound_index = index;
}

ThreadArena::Binding::~Binding() {
  FlushThreadCache();
  unsigned index = previous_index_;
  if (int error =
          mallctl("thread.arena", nullptr, nullptr, &index, sizeof(index));
      error != 0) {
    alloc_internal::MallctlFailed("thread.arena", error);
  }
  bound_index = previous_bound_;
}

uint64_t ThreadArena::Freed(std::size_t bytes) { return purge_.Freed(bytes); }

uint64_t ThreadArena::Purge() { return alloc::Purge(arena_); }

ThreadArena::Scope::Scope(ThreadArena& arena)
    : arena_(arena), deallocated_at_start_(ThreadDeallocatedBytes()) {
  arena.Bind();
}

ThreadArena::Scope::~Scope() {
  const uint64_t freed = ThreadDeallocatedBytes() - deallocated_at_start_;
  if (freed >= arena_.options().flush_threshold) FlushThreadCache();
  arena_.Freed(freed);
}

uint64_t ThreadDeallocatedBytes() {
  // A pointer to the thread's own counter, read without a mallctl call
  // after the first.
  thread_local uint64_t* counter = [] {
    uint64_t* p = nullptr;
    size_t size = sizeof(p);
    if (int error = mallctl("thread.deallocatedp", &p, &size, nullptr, 0);
        error != 0) {
      alloc_internal::MallctlFailed("thread.deallocatedp", error);
    }
    return p;
  }();
  return *counter;
}

void FlushThreadCache() {
  // Fails, with nothing to flush, where the thread has no cache.
  mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
}

}  // namespace keel::alloc
