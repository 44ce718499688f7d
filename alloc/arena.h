// Arena: a named jemalloc arena that one subsystem allocates from.
//
// Use an Arena for every long-lived structure whose memory you want to see
// and reclaim on its own: a table, a series store. Allocations bypass the
// thread cache (MALLOCX_TCACHE_NONE), so the arena's statistics are exact at
// any moment and a bulk free is visible, and purgeable, at once.
//
//   keel::alloc::Arena arena("series");
//   void* p = arena.Allocate(100);      // lands in the 112-byte class
//   arena.Deallocate(p, 100);
//
// A table read at random, or a store filled by the gigabyte, may ask for
// transparent huge pages (fewer TLB misses, one page fault per 2 MiB):
//
//   keel::alloc::Arena table_arena("prefix_table", {.huge_pages = true});
//
// Thread safety: Allocate, Deallocate and Reallocate may be called from any
// number of threads at once (jemalloc arenas lock per size class).
// Ownership: the Arena owns the jemalloc arena while it lives; destroying the
// Arena frees what is left in it and returns all its pages to the kernel.
// The emptied jemalloc arena is kept for the next Arena with the same
// options (jemalloc would keep part of every arena it destroyed, which adds
// up over months of table reloads and restores), so a process holds as
// many jemalloc arenas as it ever had Arenas alive at once. Destroying an
// Arena while allocations are still live is a bug; debug builds abort with
// the arena's name.
#ifndef KEEL_ALLOC_ARENA_H_
#define KEEL_ALLOC_ARENA_H_

#include <cstddef>
#include <memory>
#include <string>

namespace keel::alloc {

namespace alloc_internal {
struct ArenaRecord;
}  // namespace alloc_internal

struct ArenaOptions {
  // Advise MADV_HUGEPAGE on every range the arena maps (2 MiB aligned when
  // large enough). Resident memory may then grow by up to 2 MiB at the
  // arena's frontier; purging still returns freed memory.
  bool huge_pages = false;
};

class Arena {
 public:
  // Takes an empty jemalloc arena (a fresh one, or one a destroyed Arena
  // left). `name` labels it in statistics; when a
  // live arena already has that name, ".<index>" is appended. Aborts when
  // jemalloc cannot create an arena (address space or its 4095-arena limit
  // exhausted), which, like a failed allocation, a caller cannot repair.
  explicit Arena(std::string name, ArenaOptions options = {});
  ~Arena();

  Arena(Arena&& other) noexcept;
  Arena& operator=(Arena&& other) noexcept;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // REQUIRES: bytes > 0. Throws std::bad_alloc when memory is exhausted.
  // A large allocation (above the small classes) starts on a page: the page
  // jemalloc adds to its extent (SizeClasses::Footprint) is never touched.
  void* Allocate(std::size_t bytes);
  // REQUIRES: p came from this arena with a request of `bytes` bytes (or any
  // size rounding to the same class).
  void Deallocate(void* p, std::size_t bytes) noexcept;
  // Moves or resizes `p` to hold `new_bytes`; the first min(old, new) bytes
  // are kept. REQUIRES: new_bytes > 0 and p from this arena.
  void* Reallocate(void* p, std::size_t new_bytes);
  // Shrinks `p` in place to the size class that holds `new_bytes` (a large
  // one stays large: the smallest large class at least), giving the rest
  // back to the arena; data never moves. Returns the size `p` now has: its
  // old one where it cannot shrink in place (small size classes, or a class
  // that already fits). REQUIRES: p from this arena with a request of
  // `old_bytes` bytes, 0 < new_bytes <= old_bytes.
  std::size_t ShrinkInPlace(void* p, std::size_t old_bytes,
                            std::size_t new_bytes);

  // For an arena made with huge_pages: whether it asks for them now (it
  // does from construction). Off, every range it mapped is advised
  // MADV_NOHUGEPAGE (huge pages already faulted stay until jemalloc purges
  // part of one) and later ones get no advice; on again, all are advised
  // MADV_HUGEPAGE. For an owner that wants huge pages for a bulk load only:
  // at a growing frontier they fault 2 MiB where 4 KiB is touched. No
  // effect on other arenas.
  void AdviseHugePages(bool on);

  // jemalloc's arena index, for mallctl("arena.<i>...") and stats.
  unsigned index() const;
  const std::string& name() const;

 private:
  std::unique_ptr<alloc_internal::ArenaRecord> record_;
};

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_ARENA_H_
