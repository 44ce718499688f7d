// Purging: handing an arena's freed pages back to the kernel now, instead of
// when jemalloc's decay timers get to them.
//
// Call Purge after a bulk free you know about (a dropped table, a truncated
// time window); feed a PurgePolicy with every bulk free and it purges once
// enough bytes have been freed since the last purge.
//
//   keel::alloc::PurgePolicy policy(arena);        // default 8 MiB
//   store.Truncate(before);  policy.Freed(bytes_dropped);
//
// A long-running process whose load comes and goes (a server) also calls
// QuietPurger::Tick every second or so: jemalloc's decay, which keel runs
// without jemalloc's background threads, advances only while an arena is
// used, so the pages an arena freed last stay resident, however long it
// stays quiet after.
//
//   keel::alloc::QuietPurger quiet;
//   while (running) { sleep(1 s); quiet.Tick(); }
//
// Thread safety: Purge and PurgePolicy::Freed may be called from any thread;
// a QuietPurger from one thread at a time.
#ifndef KEEL_ALLOC_PURGE_H_
#define KEEL_ALLOC_PURGE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>

#include "alloc/arena.h"

namespace keel::alloc {

// Releases the arena's dirty and muzzy pages; returns how far its resident
// bytes fell (0 if they did not). Counted in the arena's purge counters.
uint64_t Purge(Arena& arena);

// Releases the dirty and muzzy pages of every arena, malloc's own included,
// after flushing the calling thread's cache into them: for a bulk build in
// ordinary containers (a table reload's parsing) that left free pages in
// whichever arena the building thread uses, where decay would reach them
// only with that arena's next activity. Returns how far the allocator's
// resident bytes fell (0 if they did not).
uint64_t PurgeAll();

class PurgePolicy {
 public:
  static constexpr std::size_t kDefaultThreshold = 8u << 20;

  // REQUIRES: `arena` outlives the policy.
  explicit PurgePolicy(Arena& arena,
                       std::size_t threshold_bytes = kDefaultThreshold)
      : arena_(arena), threshold_(threshold_bytes) {}

  // Notes `bytes` just freed; purges at once when the frees since the last
  // purge reach the threshold. Returns the bytes that purge released, or 0.
  uint64_t Freed(std::size_t bytes);

  std::size_t threshold() const { return threshold_; }

 private:
  Arena& arena_;
  const std::size_t threshold_;
  std::atomic<std::size_t> pending_{0};
};

// Purges the arenas, jemalloc's automatic ones included, whose allocated
// bytes did not change between two ticks and that hold at least
// min_dirty_bytes of freed pages. Such an arena will not reuse those pages
// soon, whether it is idle or only moves objects (a defragmentation, which
// frees as much as it allocates); a busy one is left to its decay, which
// keeps freed pages for the allocations about to reuse them.
class QuietPurger {
 public:
  struct Options {
    // Below this, a purge's system calls cost more than the pages are worth.
    std::size_t min_dirty_bytes = std::size_t{256} << 10;
  };

  QuietPurger() : QuietPurger(Options()) {}
  explicit QuietPurger(const Options& options) : options_(options) {}

  // Reads every arena's figures and purges those whose allocated bytes did
  // not change since the previous Tick (none at the first). Returns how far
  // their resident bytes fell.
  uint64_t Tick();

 private:
  const Options options_;
  std::map<unsigned, uint64_t> allocated_;  // by arena index, at last Tick
};

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_PURGE_H_
