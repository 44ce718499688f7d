// MemoryBudget: a process-wide memory limit that a server enforces itself
// instead of waiting for the kernel's OOM killer (keel's counterpart of Go's
// GOMEMLIMIT). It watches the process's resident set size and says how much
// room is left; the caller decides what to refuse.
//
// Two marks: the soft mark (default 90% of the limit), above which the
// budget frees what it can on its own (it purges every arena's free pages
// at each tick and tells the owner of the data, through `on_pressure`, to
// defragment eagerly), and the limit itself, at which callers refuse work
// that would add memory (keel serve answers remote writes 429 and queries
// that do not fit 422; lookups go on).
//
//   keel::alloc::MemoryBudgetOptions options;
//   options.limit_bytes = uint64_t{2} << 30;
//   options.on_pressure = [&](bool high) { store.SetMemoryPressure(high); };
//   keel::alloc::MemoryBudget budget(options);
//   budget.Start();                              // the background tick
//   ...
//   if (budget.Headroom() < request_bytes) return Refuse(429);
//
// What it measures: the resident set size from /proc/self/statm, not
// jemalloc's stats.resident. jemalloc sees only its own pages; the process
// also holds code and shared libraries, thread stacks and mapped table
// images, and RSS is what the kernel and the container's limit count.
// Reading statm is a system call or three, cheap next to a write request
// but not free, so the reading is cached in an atomic: Headroom() and
// State() re-read it only when it is older than `max_staleness`, and at
// most one caller at a time does (the others use the cached value). The
// tick (every `tick`) re-reads it too, and is the only place that acts on
// it: purging and the pressure hook run on the tick's thread, never on a
// caller's.
//
// The pressure hook is called with true when a tick first sees resident at
// or above the soft mark, and with false when a later tick sees it below
// `release_fraction` of the limit (lower than the soft mark, so that the
// owner does not flap between the two at the mark).
//
// Thread safety: Headroom, State, resident and the accessors may be called
// from any thread at any time; Tick from one thread at a time (Start's
// thread calls it; tests call it directly without Start). Start once; the
// destructor stops the tick thread. The hook runs on the tick's thread and
// must not call back into the budget's Tick.
#ifndef KEEL_ALLOC_MEMORY_BUDGET_H_
#define KEEL_ALLOC_MEMORY_BUDGET_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"

namespace keel::alloc {

// Where resident stands against the budget: the `keel_memory_pressure`
// gauge's value.
enum class MemoryPressure {
  kNone = 0,  // below the soft mark
  kSoft = 1,  // at or above the soft mark, below the limit
  kHard = 2,  // at or above the limit
};

struct MemoryBudgetOptions {
  // REQUIRES: > 0.
  uint64_t limit_bytes = 0;
  // The soft mark, as a fraction of the limit. REQUIRES: in (0, 1].
  double soft_fraction = 0.9;
  // The pressure hook is released below this fraction of the limit.
  // REQUIRES: in (0, soft_fraction].
  double release_fraction = 0.85;
  // How old a reading Headroom and State may use.
  std::chrono::milliseconds max_staleness{10};
  // The background tick's period (Start).
  std::chrono::milliseconds tick{100};
  // Called on the tick's thread when pressure starts (true) and ends
  // (false); may be empty.
  std::function<void(bool high)> on_pressure;
  // Whether a tick at or above the soft mark returns every arena's free
  // pages to the kernel (PurgeAll).
  bool purge_above_soft_mark = true;
  // The process's resident bytes; tests give their own. Empty:
  // ProcessRssBytes (/proc/self/statm).
  std::function<uint64_t()> read_resident;
};

class MemoryBudget {
 public:
  // Errors: InvalidArgument naming the option out of range.
  static absl::Status CheckOptions(const MemoryBudgetOptions& options);

  // Reads resident once. REQUIRES: CheckOptions(options).ok().
  explicit MemoryBudget(MemoryBudgetOptions options);
  ~MemoryBudget();
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Starts the background thread that calls Tick every `tick`. At most
  // once.
  void Start();

  // Re-reads resident now, then acts on it: purges at or above the soft
  // mark (if asked), and calls the pressure hook when pressure starts or
  // ends. Returns the new state.
  MemoryPressure Tick();

  // Bytes left under the limit (0 at or over it), from a reading at most
  // max_staleness old.
  uint64_t Headroom();
  // Where resident stands, from a reading at most max_staleness old.
  MemoryPressure State();

  uint64_t limit_bytes() const { return options_.limit_bytes; }
  uint64_t soft_limit_bytes() const { return soft_bytes_; }
  // The last reading of resident bytes.
  uint64_t resident() const {
    return resident_.load(std::memory_order_relaxed);
  }
  // Whether the pressure hook was last called with true.
  bool under_pressure() const {
    return under_pressure_.load(std::memory_order_relaxed);
  }
  // Ticks that purged, and the bytes those purges returned (as jemalloc
  // counts them).
  uint64_t purges() const { return purges_.load(std::memory_order_relaxed); }
  uint64_t purged_bytes() const {
    return purged_bytes_.load(std::memory_order_relaxed);
  }

 private:
  using Clock = std::chrono::steady_clock;

  uint64_t ReadResident() const;
  // Re-reads resident if the reading is older than max_staleness and no
  // other caller is re-reading it; returns the reading to use.
  uint64_t FreshResident();
  MemoryPressure StateOf(uint64_t resident) const;
  void Run();

  const MemoryBudgetOptions options_;
  const uint64_t soft_bytes_;
  const uint64_t release_bytes_;
  std::atomic<uint64_t> resident_{0};
  // When the next re-read is due, in Clock ticks since its epoch.
  std::atomic<int64_t> next_read_{0};
  std::atomic<bool> reading_{false};
  std::atomic<bool> under_pressure_{false};
  std::atomic<uint64_t> purges_{0};
  std::atomic<uint64_t> purged_bytes_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_MEMORY_BUDGET_H_
