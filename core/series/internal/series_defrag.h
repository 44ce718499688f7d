// SeriesDefrag: a SeriesStore's active defragmentation, and the background
// runner that drives it.
//
// Series turnover frees small objects all over the store's arena: sealed
// chunk arrays, head chunk buffers, label arrays, postings lists, label
// strings. A slab keeps its pages while one object lives in it, so after
// hours of turnover active bytes drift above allocated bytes. SeriesDefrag is
// the store's alloc::DefragClient: it offers each of those objects to an
// alloc::Defragmenter under the lock that guards its pointer, so objects in
// sparse slabs move to fuller ones and a pass ends with a purge. Window blocks
// and the index's big tables are page runs, never moved.
//
// The walk, in cursor order: series records by ref (sealed arrays and head
// buffers, each run of refs under its stripe lock), then under the index lock
// (exclusive, a batch at a time) label arrays, postings lists and strings.
//
// The runner (one thread per store, when SeriesStoreOptions::defrag is on)
// wakes every kPeriod and spends Effort() x kPeriod of CPU on slices, so
// between 1% and 25% of a core while the arena is fragmented and nothing
// otherwise. Under memory pressure (SetPressure(true)) it runs at full
// effort: a whole period a slice, passes back to back while they still move
// bytes, each ending in a purge.
//
//   SeriesDefrag defrag(store_impl, /*background=*/true);
//   defrag.SetPressure(true);   // a memory budget's soft mark was crossed
//   defrag.RunPass();           // or: one whole pass now, on this thread
//
// Thread safety: every method may be called from any thread; passes are
// serialized (RunPass waits for the runner's slice to end, and the other way
// round). The store must outlive the SeriesDefrag.
#ifndef KEEL_CORE_SERIES_INTERNAL_SERIES_DEFRAG_H_
#define KEEL_CORE_SERIES_INTERNAL_SERIES_DEFRAG_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "alloc/defrag.h"

namespace keel::core::core_internal {

class SeriesStoreImpl;

class SeriesDefrag : public alloc::DefragClient {
 public:
  static constexpr std::chrono::milliseconds kPeriod{100};

  // The defragmenter's thresholds for a store: a store's arena is mostly
  // window blocks, which never fragment, so the slack of its small objects
  // is a small ratio of the whole and the start ratio sits low.
  static alloc::DefragOptions Options();

  // Starts the runner thread when `background`. REQUIRES: `store` outlives
  // this.
  SeriesDefrag(SeriesStoreImpl& store, bool background);
  ~SeriesDefrag() override;  // stops and joins the runner
  SeriesDefrag(const SeriesDefrag&) = delete;
  SeriesDefrag& operator=(const SeriesDefrag&) = delete;

  // High: the runner works at full effort, and purges after each pass; low:
  // back to Effort(). Without a runner, high runs one pass now (with its
  // purge) on the calling thread.
  void SetPressure(bool high);
  bool pressure() const { return pressure_.load(std::memory_order_relaxed); }

  // One whole pass now on the calling thread (the rest of a pass the runner
  // started, then a full one), ending with a purge.
  void RunPass();

  alloc::DefragStats stats() const { return defrag_.stats(); }

  std::optional<uint64_t> DefragWalk(uint64_t cursor,
                                     alloc::Defragmenter& defrag) override;

 private:
  void Runner();
  // One runner tick: a slice if the arena needs one (or pressure asks).
  void Tick();
  // The series records from `ref` on: sealed arrays and head buffers.
  std::optional<uint64_t> WalkSeries(uint64_t ref, alloc::Defragmenter& d);
  // The index's objects from `position` of `phase` on.
  std::optional<uint64_t> WalkIndex(uint64_t phase, uint64_t position,
                                    alloc::Defragmenter& d);

  SeriesStoreImpl& store_;
  alloc::Defragmenter defrag_;
  std::mutex run_mu_;  // one RunSlice at a time
  std::atomic<bool> pressure_{false};
  // The runner's memory of the last pass: a new one starts only when it
  // moved bytes or the slack has grown since.
  uint64_t last_moved_ = 0;        // guarded by run_mu_
  uint64_t slack_after_pass_ = 0;  // guarded by run_mu_
  uint64_t pass_moved_from_ = 0;   // moved_bytes when the pass began
  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by wake_mu_
  std::thread thread_;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SERIES_DEFRAG_H_
