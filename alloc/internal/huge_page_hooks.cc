#include "alloc/internal/huge_page_hooks.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <mutex>

#include "alloc/internal/mallctl.h"

namespace keel::alloc::alloc_internal {
namespace {

constexpr size_t kHugePageBytes = size_t{2} << 20;
constexpr unsigned kMaxArenas = 4096;  // jemalloc's limit
// Mappings an arena records; jemalloc maps in geometrically growing steps,
// so a handful per doubling of the arena. Past this, new mappings are left
// unadvised (they could not be advised back).
constexpr size_t kMaxRanges = 512;

struct Range {
  void* start;
  size_t size;
};

// What one arena's hooks mapped and whether they advise huge pages now.
// Created outside the hooks (SetHugePageAdvice) and kept for the process,
// since jemalloc arenas are reused, never destroyed.
struct Advice {
  std::mutex mu;
  bool on = true;
  size_t count = 0;
  std::array<Range, kMaxRanges> ranges;
};

std::array<std::atomic<Advice*>, kMaxArenas> advice{};

void AdviseAll(Advice& a, int advice_kind) {
  for (size_t i = 0; i < a.count; ++i) {
    madvise(a.ranges[i].start, a.ranges[i].size, advice_kind);
  }
}

// jemalloc's own hooks, which every arena made without hooks uses.
extent_hooks_t* DefaultHooks() {
  static extent_hooks_t* const hooks = [] {
    extent_hooks_t* defaults = nullptr;
    size_t size = sizeof(defaults);
    int error = mallctl("arena.0.extent_hooks", &defaults, &size, nullptr, 0);
    if (error != 0) MallctlFailed("arena.0.extent_hooks", error);
    return defaults;
  }();
  return hooks;
}

void* AllocateHuge(extent_hooks_t* /*hooks*/, void* new_addr, size_t size,
                   size_t alignment, bool* zero, bool* commit,
                   unsigned arena_index) {
  extent_hooks_t* defaults = DefaultHooks();
  // Only a fresh mapping may be placed: new_addr asks for that address.
  if (new_addr == nullptr && size >= kHugePageBytes) {
    alignment = std::max(alignment, kHugePageBytes);
  }
  void* extent = defaults->alloc(defaults, new_addr, size, alignment, zero,
                                 commit, arena_index);
  if (extent == nullptr) return nullptr;
  // Advice only: where THP is off the range keeps 4 KiB pages and works.
  Advice* a = arena_index < kMaxArenas
                  ? advice[arena_index].load(std::memory_order_acquire)
                  : nullptr;
  if (a == nullptr) {  // jemalloc's metadata while the arena is created
    madvise(extent, size, MADV_HUGEPAGE);
    return extent;
  }
  std::lock_guard lock(a->mu);
  if (a->count > 0 && static_cast<char*>(a->ranges[a->count - 1].start) +
                              a->ranges[a->count - 1].size ==
                          extent) {
    a->ranges[a->count - 1].size += size;
  } else if (a->count < kMaxRanges) {
    a->ranges[a->count++] = {extent, size};
  } else {
    return extent;
  }
  if (a->on) madvise(extent, size, MADV_HUGEPAGE);
  return extent;
}

}  // namespace

void SetHugePageAdvice(unsigned arena_index, bool on) {
  if (arena_index >= kMaxArenas) return;
  Advice* a = advice[arena_index].load(std::memory_order_acquire);
  if (a == nullptr) {
    auto* made = new Advice;
    if (advice[arena_index].compare_exchange_strong(
            a, made, std::memory_order_acq_rel)) {
      a = made;
    } else {
      delete made;
    }
  }
  std::lock_guard lock(a->mu);
  if (a->on == on) return;
  a->on = on;
  AdviseAll(*a, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

extent_hooks_t* HugePageExtentHooks() {
  static extent_hooks_t hooks = [] {
    extent_hooks_t copy = *DefaultHooks();
    copy.alloc = AllocateHuge;
    return copy;
  }();
  return &hooks;
}

}  // namespace keel::alloc::alloc_internal
