// Extent hooks that ask the kernel for transparent huge pages (THP) on every
// extent an arena maps, for Arenas made with ArenaOptions::huge_pages.
//
// A table or a store read at random over megabytes spends much of each
// lookup on TLB misses with 4 KiB pages, and filling gigabytes costs one
// page fault per 4 KiB; with THP in "madvise" mode (Debian's default) the
// kernel backs a range with 2 MiB pages only when asked. The hooks are
// jemalloc's defaults except that each new mapping is advised
// MADV_HUGEPAGE (and, when at least 2 MiB, aligned to 2 MiB so that the
// kernel can use whole huge pages). Purging still returns memory: the kernel
// splits a huge page that is partly released.
//
// Thread safety: HugePageExtentHooks may be called from any thread.
#ifndef KEEL_ALLOC_INTERNAL_HUGE_PAGE_HOOKS_H_
#define KEEL_ALLOC_INTERNAL_HUGE_PAGE_HOOKS_H_

#include <jemalloc/jemalloc.h>

namespace keel::alloc::alloc_internal {

// The hook table to pass to "arenas.create". Lives for the process.
extent_hooks_t* HugePageExtentHooks();

// Whether the hooks of arena `arena_index` advise huge pages: switching
// advises every range they mapped so far MADV_HUGEPAGE or MADV_NOHUGEPAGE,
// and ranges mapped later follow. On until first called for an arena.
void SetHugePageAdvice(unsigned arena_index, bool on);

}  // namespace keel::alloc::alloc_internal

#endif  // KEEL_ALLOC_INTERNAL_HUGE_PAGE_HOOKS_H_
