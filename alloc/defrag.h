// Defragmenter: active defragmentation of one Arena on stock jemalloc.
//
// After a scattered free (series dying, label values rotating) every slab of
// an arena may keep a few live objects, and jemalloc cannot hand back a page
// while one object lives on it: active bytes stay far above allocated bytes.
// Only the objects' owner can fix that, because only it holds the pointers.
// The Defragmenter decides which objects should move (jemalloc's
// "experimental.utilization.query" says how full an object's slab is), moves
// them into the slab the arena fills next, and purges once a pass is over;
// the owner walks its pointers and swaps each moved one under its own lock.
//
// The owner implements DefragClient; a runner (a background thread, or the
// thread that notices memory pressure) calls RunSlice with a budget, as
// often as Effort() asks:
//
//   class Shard : public keel::alloc::DefragClient {
//    public:
//     std::optional<uint64_t> DefragWalk(
//         uint64_t cursor, keel::alloc::Defragmenter& defrag) override {
//       for (; cursor < objects_.size(); ++cursor) {
//         if (defrag.Yield()) return cursor;      // resume here next slice
//         std::unique_lock lock(mu_);             // readers hold it shared
//         Object& o = objects_[cursor];
//         if (void* moved = defrag.MaybeMove(o.data, o.size)) o.data = moved;
//       }
//       return std::nullopt;                      // the walk is over
//     }
//   };
//
//   keel::alloc::Defragmenter defrag(arena);
//   every 100 ms:                    // effort x 100 ms of CPU a slice
//     double effort = defrag.Effort();
//     if (defrag.in_pass()) effort = std::max(effort, cycle_min);
//     if (effort > 0) defrag.RunSlice(shard, {.time = effort * 100ms});
//
// Which objects move (Valkey's rule): those in a slab whose utilization is
// below `utilization_factor` times the average of its size class, never
// those in the slab the class allocates from next (moving them would gain
// nothing), never those in a full slab, never large (page-run) allocations.
// Moved objects land in the oldest slab with room, so a pass drains the
// sparse slabs into the dense ones and a later pass has little left to do.
//
// Thread safety: RunSlice, MaybeMove, ShouldMove and Yield are called by one
// thread at a time (the runner, and the client's walk inside RunSlice);
// other threads may allocate from and free to the arena meanwhile, and may
// read stats() and TotalDefragStats() at any time. Ownership: the arena must
// outlive the Defragmenter.
#ifndef KEEL_ALLOC_DEFRAG_H_
#define KEEL_ALLOC_DEFRAG_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "alloc/arena.h"

namespace keel::alloc {

struct DefragOptions {
  // An object moves when its slab's utilization is below this multiple of
  // its size class's average. Above 1, so that slabs all as full as the
  // average still drain into the current one instead of stagnating.
  double utilization_factor = 1.125;
  // Effort() is 0 below this fragmentation (active / allocated) ...
  double start_ratio = 1.1;
  // ... or while active - allocated is below this many bytes.
  uint64_t min_slack_bytes = 8u << 20;
  // Effort() grows linearly from cycle_min at start_ratio to cycle_max at
  // full_effort_ratio (Redis' active-defrag-cycle-min/max and thresholds).
  double cycle_min = 0.01;
  double cycle_max = 0.25;
  double full_effort_ratio = 2.0;
  // Return the freed pages to the kernel when a pass ends.
  bool purge_after_pass = true;
};

// What one RunSlice may spend before it stops and keeps its place.
struct DefragBudget {
  std::chrono::nanoseconds time = std::chrono::milliseconds(10);
  uint64_t objects = std::numeric_limits<uint64_t>::max();  // examined
};

struct DefragStats {
  uint64_t runs = 0;              // passes completed
  uint64_t slices = 0;            // RunSlice calls
  uint64_t examined_objects = 0;  // ShouldMove/MaybeMove calls
  uint64_t moved_objects = 0;
  uint64_t moved_bytes = 0;
  double cpu_seconds = 0;  // thread CPU time spent in RunSlice
  // Active / allocated of the arena when the last completed pass started,
  // and when it ended (after its purge); 1 before any pass.
  double fragmentation_before = 1;
  double fragmentation_after = 1;
};

class Defragmenter;

namespace alloc_internal {
// A Defragmenter's counters, and the process's sums of them.
struct DefragCounters {
  std::atomic<uint64_t> runs{0}, slices{0}, examined{0}, moved{0};
  std::atomic<uint64_t> moved_bytes{0}, cpu_nanos{0};
  std::atomic<double> before{1}, after{1};
};
}  // namespace alloc_internal

// An owner of objects in one arena: it can walk them and swap their
// pointers.
class DefragClient {
 public:
  virtual ~DefragClient() = default;
  // Offers its objects, from `cursor` on (0: the first; the meaning of a
  // cursor is the client's), to defrag.MaybeMove, each under the lock that
  // guards its pointer, swapping the pointer when one comes back. Stops when
  // defrag.Yield() says so and returns the cursor to resume from, or returns
  // nullopt when the walk reached its end.
  virtual std::optional<uint64_t> DefragWalk(uint64_t cursor,
                                             Defragmenter& defrag) = 0;
};

class Defragmenter {
 public:
  // REQUIRES: `arena` outlives the Defragmenter.
  explicit Defragmenter(Arena& arena, DefragOptions options = {});
  Defragmenter(const Defragmenter&) = delete;
  Defragmenter& operator=(const Defragmenter&) = delete;

  // Walks `client` until `budget` is spent or the walk ends, resuming where
  // the previous slice stopped. A pass is the walk from cursor 0 to its end;
  // when one ends the arena is purged and the pass counted. Returns true
  // when this slice ended a pass.
  bool RunSlice(DefragClient& client, DefragBudget budget = {});

  // True when the current slice's budget is spent: the client stops and
  // returns its cursor. Outside RunSlice, always false.
  bool Yield() const;

  // If the object at `p` should move: allocates `bytes` in the arena
  // (bypassing the thread cache), copies them, frees `p` and returns the new
  // address; the caller swaps its pointer. Otherwise, or when memory is
  // exhausted, returns nullptr and `p` stays valid.
  // REQUIRES: p is a live allocation of `bytes` bytes from the arena; the
  // caller holds whatever lock keeps every other thread from using p until
  // its pointer is swapped.
  void* MaybeMove(void* p, std::size_t bytes);

  // Whether the object at `p` should move, for owners that move objects
  // themselves (one with internal pointers to fix up, say).
  // REQUIRES: p is a live allocation from the arena.
  bool ShouldMove(const void* p);
  // Counts an object of `bytes` that its owner moved itself after
  // ShouldMove said so (a container that cannot adopt a buffer copies
  // itself into a new one instead).
  void CountMoved(std::size_t bytes);

  // The fraction of one core a runner should spend on this arena now: 0
  // when it is not fragmented enough to be worth a pass, else between the
  // options' cycle_min and cycle_max.
  double Effort() const;

  // True between the first slice of a pass and the slice that ends it.
  bool in_pass() const { return cursor_.has_value(); }
  DefragStats stats() const;
  const DefragOptions& options() const { return options_; }

 private:
  Arena& arena_;
  const DefragOptions options_;
  std::optional<uint64_t> cursor_;  // where the current pass resumes
  double pass_before_ = 1;          // fragmentation when this pass started
  // The current slice's limits; none outside RunSlice.
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  uint64_t slice_object_limit_ = 0;  // examined_ value that ends the slice
  alloc_internal::DefragCounters counters_;
};

// The sum over every Defragmenter this process has had, for metrics
// (keel_defrag_*_total); fragmentation_before/after are the last completed
// pass's, whichever arena it was on.
DefragStats TotalDefragStats();

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_DEFRAG_H_
