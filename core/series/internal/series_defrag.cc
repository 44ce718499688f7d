#include "core/series/internal/series_defrag.h"

#include <algorithm>
#include <limits>

#include "alloc/purge.h"
#include "alloc/stats.h"
#include "core/series/internal/series_store_impl.h"

namespace keel::core::core_internal {
namespace {

// The cursor's top bits say which part of the store the walk is in; the
// rest is the position within it.
constexpr unsigned kPhaseShift = 48;
constexpr uint64_t kPositionMask = (uint64_t{1} << kPhaseShift) - 1;
constexpr uint64_t kSeriesPhase = 0;
constexpr uint64_t kFirstIndexPhase = 1;
// Index objects offered per hold of the index lock: writers (new series)
// and readers (selections) wait at most this many moves.
constexpr std::size_t kIndexBatch = 256;

uint64_t Cursor(uint64_t phase, uint64_t position) {
  return phase << kPhaseShift | position;
}

uint64_t Slack(const alloc::Arena& arena) {
  alloc::MemoryStats m = alloc::CaptureArenaStats(arena).memory;
  return m.active > m.allocated ? m.active - m.allocated : 0;
}

}  // namespace

alloc::DefragOptions SeriesDefrag::Options() {
  alloc::DefragOptions o;
  o.start_ratio = 1.01;
  o.min_slack_bytes = 2u << 20;
  o.full_effort_ratio = 1.25;
  return o;
}

SeriesDefrag::SeriesDefrag(SeriesStoreImpl& store, bool background)
    : store_(store), defrag_(store.arena_, Options()) {
  if (background) thread_ = std::thread([this] { Runner(); });
}

SeriesDefrag::~SeriesDefrag() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void SeriesDefrag::SetPressure(bool high) {
  if (pressure_.exchange(high, std::memory_order_relaxed) == high) return;
  if (!high) return;
  {
    std::lock_guard lock(run_mu_);
    last_moved_ = std::numeric_limits<uint64_t>::max();  // a pass is due
  }
  if (thread_.joinable()) {
    wake_.notify_all();
  } else {
    RunPass();
  }
}

void SeriesDefrag::RunPass() {
  std::lock_guard lock(run_mu_);
  constexpr alloc::DefragBudget kUnbounded{
      .time = std::chrono::nanoseconds::max() / 2};
  if (defrag_.in_pass()) {
    while (!defrag_.RunSlice(*this, kUnbounded)) {
    }
  }
  uint64_t moved = defrag_.stats().moved_bytes;
  while (!defrag_.RunSlice(*this, kUnbounded)) {
  }
  last_moved_ = defrag_.stats().moved_bytes - moved;
  slack_after_pass_ = Slack(store_.arena_);
}

void SeriesDefrag::Runner() {
  std::unique_lock lock(wake_mu_);
  while (!stop_) {
    wake_.wait_for(lock, kPeriod);
    if (stop_) break;
    lock.unlock();
    Tick();
    lock.lock();
  }
}

void SeriesDefrag::Tick() {
  std::lock_guard lock(run_mu_);
  const bool high = pressure();
  double effort = high ? 1.0 : defrag_.Effort();
  if (!defrag_.in_pass()) {
    if (high) alloc::Purge(store_.arena_);
    if (effort <= 0) return;
    // A pass that moved nothing met slack it cannot reduce (the current
    // slabs' free regions, a class with one slab): repeating it would spend
    // CPU for nothing until objects have been freed since.
    if (last_moved_ == 0 &&
        Slack(store_.arena_) < slack_after_pass_ + Options().min_slack_bytes) {
      return;
    }
    pass_moved_from_ = defrag_.stats().moved_bytes;
  }
  effort = std::max(effort, Options().cycle_min);
  auto budget = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double, std::nano>(
          effort * std::chrono::nanoseconds(kPeriod).count()));
  if (defrag_.RunSlice(*this, {.time = budget})) {
    last_moved_ = defrag_.stats().moved_bytes - pass_moved_from_;
    slack_after_pass_ = Slack(store_.arena_);
  }
}

std::optional<uint64_t> SeriesDefrag::DefragWalk(uint64_t cursor,
                                                 alloc::Defragmenter& d) {
  uint64_t phase = cursor >> kPhaseShift;
  uint64_t position = cursor & kPositionMask;
  while (true) {
    std::optional<uint64_t> next =
        phase == kSeriesPhase
            ? WalkSeries(position, d)
            : WalkIndex(phase - kFirstIndexPhase, position, d);
    if (next.has_value()) return Cursor(phase, *next);
    if (phase == kFirstIndexPhase + SeriesIndex::kDefragPhases - 1) {
      return std::nullopt;
    }
    ++phase;
    position = 0;
    if (d.Yield()) return Cursor(phase, position);
  }
}

std::optional<uint64_t> SeriesDefrag::WalkSeries(uint64_t ref,
                                                 alloc::Defragmenter& d) {
  constexpr unsigned kRun = SeriesStoreImpl::kRun;
  const bool heads = store_.options_.chunk_memory == ChunkMemory::kArena;
  const uint64_t size = store_.table_.size();
  while (ref < size) {
    if (d.Yield()) return ref;
    const uint64_t run_end = std::min<uint64_t>((ref / kRun + 1) * kRun, size);
    auto& stripe = store_.StripeOf(static_cast<SeriesRef>(ref));
    StripeGuard lock(stripe.mu);
    for (; ref < run_end; ++ref) {
      Series& s = *store_.table_.Find(static_cast<SeriesRef>(ref));
      if (s.dead) continue;
      if (s.sealed != nullptr) {
        if (void* p = d.MaybeMove(s.sealed, SealedBytes(s.sealed_count))) {
          s.sealed = static_cast<SealedChunk*>(p);
        }
      }
      if (heads && s.head != nullptr) {
        if (void* p = d.MaybeMove(s.head, s.head_capacity)) {
          s.head = static_cast<uint8_t*>(p);
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> SeriesDefrag::WalkIndex(uint64_t phase,
                                                uint64_t position,
                                                alloc::Defragmenter& d) {
  while (true) {
    if (d.Yield()) return position;
    std::lock_guard lock(store_.index_mu_);
    std::optional<uint64_t> next = store_.index_.DefragSome(
        static_cast<int>(phase), position, kIndexBatch, d);
    if (!next.has_value()) return std::nullopt;
    position = *next;
  }
}

}  // namespace keel::core::core_internal
