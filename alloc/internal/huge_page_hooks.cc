#include "alloc/internal/huge_page_hooks.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>

#include "alloc/internal/mallctl.h"

namespace keel::alloc::alloc_internal {
namespace {

constexpr size_t kHugePageBytes = size_t{2} << 20;

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
  // Advice only: where THP is off the range keeps 4 KiB pages and works.
  if (extent != nullptr) madvise(extent, size, MADV_HUGEPAGE);
  return extent;
}

}  // namespace

extent_hooks_t* HugePageExtentHooks() {
  static extent_hooks_t hooks = [] {
    extent_hooks_t copy = *DefaultHooks();
    copy.alloc = AllocateHuge;
    return copy;
  }();
  return &hooks;
}

}  // namespace keel::alloc::alloc_internal
