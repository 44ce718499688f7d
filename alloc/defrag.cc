#include "alloc/defrag.h"

#include <jemalloc/jemalloc.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "alloc/internal/mallctl.h"
#include "alloc/purge.h"
#include "alloc/stats.h"

namespace keel::alloc {
namespace {

using alloc_internal::DefragCounters;

// The process-wide sums behind TotalDefragStats.
DefragCounters& GlobalTotals() {
  static auto* totals = new DefragCounters;  // read by collectors until exit
  return *totals;
}

uint64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<uint64_t>(ts.tv_nsec);
}

struct Fragmentation {
  double ratio = 1;    // active / allocated
  uint64_t slack = 0;  // active - allocated
};

Fragmentation Measure(const Arena& arena) {
  MemoryStats m = CaptureArenaStats(arena).memory;
  if (m.allocated == 0 || m.active <= m.allocated) return {};
  return {static_cast<double>(m.active) / m.allocated, m.active - m.allocated};
}

void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace

Defragmenter::Defragmenter(Arena& arena, DefragOptions options)
    : arena_(arena), options_(options) {}

bool Defragmenter::RunSlice(DefragClient& client, DefragBudget budget) {
  const uint64_t cpu_start = ThreadCpuNanos();
  deadline_ = std::chrono::steady_clock::now() + budget.time;
  const uint64_t examined = counters_.examined.load(std::memory_order_relaxed);
  slice_object_limit_ = budget.objects > UINT64_MAX - examined
                            ? UINT64_MAX
                            : examined + budget.objects;
  if (!cursor_.has_value()) {
    cursor_ = 0;
    pass_before_ = Measure(arena_).ratio;
  }
  bool ended = false;
  while (true) {
    std::optional<uint64_t> next = client.DefragWalk(*cursor_, *this);
    if (!next.has_value()) {
      ended = true;
      break;
    }
    cursor_ = next;
    if (Yield()) break;
  }
  deadline_.reset();
  if (ended) {
    cursor_.reset();
    if (options_.purge_after_pass) Purge(arena_);
    double after = Measure(arena_).ratio;
    for (auto* c : {&counters_.before, &GlobalTotals().before}) {
      c->store(pass_before_, std::memory_order_relaxed);
    }
    for (auto* c : {&counters_.after, &GlobalTotals().after}) {
      c->store(after, std::memory_order_relaxed);
    }
    Add(counters_.runs, 1);
    Add(GlobalTotals().runs, 1);
  }
  uint64_t cpu = ThreadCpuNanos() - cpu_start;
  Add(counters_.cpu_nanos, cpu);
  Add(GlobalTotals().cpu_nanos, cpu);
  Add(counters_.slices, 1);
  Add(GlobalTotals().slices, 1);
  return ended;
}

bool Defragmenter::Yield() const {
  if (!deadline_.has_value()) return false;
  return counters_.examined.load(std::memory_order_relaxed) >=
             slice_object_limit_ ||
         std::chrono::steady_clock::now() >= *deadline_;
}

bool Defragmenter::ShouldMove(const void* p) {
  Add(counters_.examined, 1);
  Add(GlobalTotals().examined, 1);
  alloc_internal::SlabUtilization u = alloc_internal::QuerySlabUtilization(p);
  // Large allocations (one region), full slabs, and a bin whose every slab
  // is full (no current slab) have nowhere better to go; so has an object
  // already in the slab that allocations come from next.
  if (u.nregs <= 1 || u.nfree == 0 || u.slabcur == nullptr) return false;
  auto* slabcur = static_cast<const char*>(u.slabcur);
  auto* at = static_cast<const char*>(p);
  if (at >= slabcur && at < slabcur + u.size) return false;
  if (u.bin_nregs == 0) return false;  // jemalloc built without statistics
  double slab = static_cast<double>(u.nregs - u.nfree) / u.nregs;
  double bin = static_cast<double>(u.bin_nregs - u.bin_nfree) / u.bin_nregs;
  return slab < options_.utilization_factor * bin;
}

void* Defragmenter::MaybeMove(void* p, std::size_t bytes) {
  if (!ShouldMove(p)) return nullptr;
  // Arena::Allocate's flags, without its throw: a move that cannot be made
  // is skipped.
  const int flags = MALLOCX_ARENA(arena_.index()) | MALLOCX_TCACHE_NONE;
  void* moved = mallocx(bytes, flags);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, p, bytes);
  arena_.Deallocate(p, bytes);
  CountMoved(bytes);
  return moved;
}

void Defragmenter::CountMoved(std::size_t bytes) {
  Add(counters_.moved, 1);
  Add(GlobalTotals().moved, 1);
  Add(counters_.moved_bytes, bytes);
  Add(GlobalTotals().moved_bytes, bytes);
}

double Defragmenter::Effort() const {
  Fragmentation f = Measure(arena_);
  if (f.ratio < options_.start_ratio || f.slack < options_.min_slack_bytes) {
    return 0;
  }
  double span = options_.full_effort_ratio - options_.start_ratio;
  double progress =
      span <= 0 ? 1 : std::min(1.0, (f.ratio - options_.start_ratio) / span);
  return options_.cycle_min +
         progress * (options_.cycle_max - options_.cycle_min);
}

namespace {

DefragStats Read(const DefragCounters& c) {
  auto get = [](const std::atomic<uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
  };
  DefragStats s;
  s.runs = get(c.runs);
  s.slices = get(c.slices);
  s.examined_objects = get(c.examined);
  s.moved_objects = get(c.moved);
  s.moved_bytes = get(c.moved_bytes);
  s.cpu_seconds = static_cast<double>(get(c.cpu_nanos)) / 1e9;
  s.fragmentation_before = c.before.load(std::memory_order_relaxed);
  s.fragmentation_after = c.after.load(std::memory_order_relaxed);
  return s;
}

}  // namespace

DefragStats Defragmenter::stats() const { return Read(counters_); }

DefragStats TotalDefragStats() { return Read(GlobalTotals()); }

}  // namespace keel::alloc
