// SeriesStoreImpl: the state behind SeriesStore and the locking that keeps it
// consistent. See series_store.h for the contract.
//
// Defined in files by concern: series_store_impl.cc (series, appends,
// head and sealed chunks, windows, stats), series_store_select.cc (Select),
// series_store_restore.cc (RestoreChunk and its checks),
// series_store_retention.cc (Truncate, ApplyRetention) and sealed_windows.cc
// (SealWindows: re-encoding windows that take no more appends).
//
// Locks (std ones: Debian's absl is not built with TSan, so TSan cannot see
// absl::Mutex), always taken in this order: truncate_mu_ (one Truncate at a
// time) -> index_mu_ (labels, postings; writers create and drop series) -> one
// stripe's mu (the records of refs in its runs of kRun, their chunks
// and counters) -> windows_mu_ (the window map). Append takes only its
// stripe (and windows_mu_ when a chunk seals).
//
// Why a window never disappears under a reader: Truncate first raises
// min_window_ (later appends and restores below it are rejected), then
// drops every chunk below it stripe by stripe, and erases windows from the
// map only after that. So whoever sees a chunk ref under its stripe lock
// finds the chunk's window still in the map, and a SeriesSet holding the
// window's shared_ptr keeps its bytes alive after the erase. Sealing
// replaces a window in the map by its re-encoded successor before it swaps
// any ref, and the successor holds the old window until every ref is
// swapped: a reader holds both (HoldWindow), whichever refs it saw.
#ifndef KEEL_CORE_SERIES_INTERNAL_SERIES_STORE_IMPL_H_
#define KEEL_CORE_SERIES_INTERNAL_SERIES_STORE_IMPL_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "alloc/arena.h"
#include "alloc/growth_policy.h"
#include "alloc/purge.h"
#include "core/series/internal/chunk_allocator.h"
#include "core/series/internal/chunk_window.h"
#include "core/series/internal/series_defrag.h"
#include "core/series/internal/series_index.h"
#include "core/series/internal/series_stripe_lock.h"
#include "core/series/internal/series_table.h"
#include "core/series/series_store.h"

namespace keel::core::core_internal {

class SeriesBulkRestore;

class SeriesStoreImpl {
 public:
  static constexpr unsigned kStripes = 64;
  // A stripe holds runs of kRun consecutive refs (one page of records), so
  // a stripe's records are dense in memory, and stripe i holds refs
  // [i * kRun, (i + 1) * kRun), then the same kStripes * kRun later.
  static constexpr unsigned kRun = 64;
  static unsigned StripeIndex(SeriesRef ref) { return (ref / kRun) % kStripes; }
  // Calls fn(ref) for every ref below `size` in stripe i.
  template <typename Fn>
  static void ForEachRefInStripe(unsigned i, uint32_t size, Fn fn) {
    for (uint64_t base = uint64_t{i} * kRun; base < size;
         base += uint64_t{kStripes} * kRun) {
      for (uint64_t ref = base; ref < base + kRun && ref < size; ++ref) {
        fn(static_cast<SeriesRef>(ref));
      }
    }
  }

  explicit SeriesStoreImpl(const SeriesStoreOptions& options);
  ~SeriesStoreImpl();

  absl::StatusOr<SeriesRef> GetOrCreate(Labels labels, bool must_be_new);
  // As SeriesStore::GetOrCreateIf.
  absl::StatusOr<std::optional<SeriesRef>> GetOrCreateIf(
      Labels labels, absl::FunctionRef<bool()> admit_new);
  absl::StatusOr<std::optional<SeriesRef>> Find(Labels labels) const;
  // Counts a sample refused before its series was looked up.
  void CountTooOld() {
    too_old_unseen_.fetch_add(1, std::memory_order_relaxed);
  }
  AppendResult Append(SeriesRef ref, int64_t t, double v);
  std::size_t AppendBatch(std::span<const RefSample> samples,
                          std::span<AppendResult> results);
  // Charges its work and the labels it copies to `context`; once that
  // fails, returns a partial set, which the caller drops.
  SeriesSet Select(std::span<const Matcher> matchers, int64_t mint,
                   int64_t maxt, QueryContext& context) const;
  absl::Status RestoreChunk(SeriesRef ref, const ChunkData& chunk);
  TruncateResult Truncate(int64_t before);
  TruncateResult ApplyRetention(int64_t now_ms);
  int64_t OldestAppendable() const {
    return WindowStart(min_window_.load(std::memory_order_acquire));
  }
  SeriesStoreStats Stats() const;
  // Re-encodes every window before the one of min(newest sample, now_ms)
  // not yet sealed; returns how many. One call at a time runs; `stop` is
  // asked before each stripe (SeriesStore::SealWindows).
  std::size_t SealWindows(int64_t now_ms, absl::FunctionRef<bool()> stop);
  SeriesStore::SealedStats GetSealedStats() const;

  int64_t WindowOf(int64_t t) const {
    int64_t q = t / window_;
    return (t % window_ != 0 && t < 0) ? q - 1 : q;
  }
  // The first / last timestamp of window w, saturated to int64.
  int64_t WindowStart(int64_t w) const;
  int64_t WindowLast(int64_t w) const;

  const SeriesStoreOptions& options() const { return options_; }
  alloc::Arena& arena() { return arena_; }
  SeriesDefrag& defrag() { return *defrag_; }
  const SeriesDefrag& defrag() const { return *defrag_; }

 private:
  // must_be_new: AlreadyExists if the series exists (a restore's series).
  // admit_new is asked once, just before a series is created; false
  // creates nothing and returns nullopt.
  absl::StatusOr<std::optional<SeriesRef>> GetOrCreate(
      Labels labels, bool must_be_new, absl::FunctionRef<bool()> admit_new);
  friend class SeriesBulkRestore;
  friend class SeriesDefrag;

  struct alignas(64) Stripe {
    mutable StripeLock mu;
    uint64_t samples ABSL_GUARDED_BY(mu) = 0;
    uint64_t chunks ABSL_GUARDED_BY(mu) = 0;
    uint64_t live_bytes ABSL_GUARDED_BY(mu) = 0;
    uint64_t appended ABSL_GUARDED_BY(mu) = 0;
    uint64_t duplicates ABSL_GUARDED_BY(mu) = 0;
    uint64_t out_of_order ABSL_GUARDED_BY(mu) = 0;
    uint64_t conflicts ABSL_GUARDED_BY(mu) = 0;
    uint64_t too_old ABSL_GUARDED_BY(mu) = 0;
    int64_t max_time ABSL_GUARDED_BY(mu) = INT64_MIN;
  };

  Stripe& StripeOf(SeriesRef ref) { return stripes_[StripeIndex(ref)]; }
  const Stripe& StripeOf(SeriesRef ref) const {
    return stripes_[StripeIndex(ref)];
  }

  AppendResult AppendLocked(Series& s, Stripe& stripe, int64_t t, double v)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  [[gnu::noinline]] AppendResult AppendSlow(Series& s, Stripe& stripe,
                                            int64_t t, double v);
  [[gnu::noinline]] void GrowHead(Series& s);
  void StartHead(Series& s, Stripe& stripe, int64_t t, double v);
  void SealHead(Series& s);
  void PushSealed(Series& s, SealedChunk chunk);
  // Drops the first `n` sealed chunks of `s` (their bytes stay with their
  // windows). Returns their sample count and bytes through the stripe.
  void DropSealed(Series& s, Stripe& stripe, uint32_t n);
  void FreeHead(Series& s, Stripe& stripe);
  // Whether a restored chunk is well formed in itself: XOR, its header
  // agreeing with its record, times in order. Its window is not checked.
  static bool ChunkShapeOk(const ChunkData& chunk) {
    return chunk.encoding == kXorEncoding &&
           chunk.bytes.size() > kXorHeaderBytes &&
           chunk.bytes.size() <= 65535 && chunk.samples != 0 &&
           XorSampleCount(chunk.bytes) == chunk.samples &&
           XorFirstTimestamp(chunk.bytes) == chunk.min_time &&
           chunk.max_time >= chunk.min_time;
  }
  // RestoreChunk's checks of the chunk itself, the series aside: its shape
  // and its window.
  absl::Status CheckRestoredChunk(SeriesRef ref, const ChunkData& chunk) const;
  [[gnu::cold]] absl::Status BadRestoredChunk(SeriesRef ref,
                                              const ChunkData& chunk,
                                              bool overlaps = false) const;
  // A restored chunk's bytes in its window, as the layout keeps them.
  const uint8_t* StoreRestoredBytes(ChunkWindow::Writer& window,
                                    std::span<const uint8_t> bytes);
  void CountRestored(Stripe& stripe, const ChunkData& chunk)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
    stripe.samples += chunk.samples;
    stripe.live_bytes += chunk.bytes.size();
    ++stripe.chunks;
    stripe.max_time = std::max(stripe.max_time, chunk.max_time);
  }
  ChunkWindow* GetWindow(int64_t index);
  // Adds window `index` (and the window it replaces while sealing) to
  // `held`.
  void HoldWindow(int64_t index,
                  std::vector<std::shared_ptr<const ChunkWindow>>& held) const;
  // Sealing (sealed_windows.cc).
  // False when the window was truncated meanwhile or `stop` said so.
  bool SealWindow(std::shared_ptr<ChunkWindow> old,
                  absl::FunctionRef<bool()> stop);
  // The first sealed chunk of `s` in window w or later.
  uint32_t FirstChunkIn(const Series& s, int64_t w) const;
  // Replaces s.sealed[at, at + count) by `chunks`.
  void ReplaceSealed(Series& s, uint32_t at, uint32_t count,
                     std::span<const SealedChunk> chunks);

  const SeriesStoreOptions options_;
  const int64_t window_;
  alloc::Arena arena_;  // first in, last out: everything below lives in it
  const alloc::GrowthPolicy growth_;
  ChunkAllocator memory_;
  alloc::PurgePolicy purge_;
  SeriesTable table_;
  std::atomic<int64_t> min_window_{INT64_MIN};

  std::mutex truncate_mu_;
  std::mutex seal_mu_;  // one SealWindows at a time; taken before all others
  mutable std::shared_mutex index_mu_;
  SeriesIndex index_ ABSL_GUARDED_BY(index_mu_);
  // Live series = table_.size() - dead_series_ (restores included).
  uint64_t dead_series_ ABSL_GUARDED_BY(index_mu_) = 0;
  // Samples refused as too old before their series existed (no stripe).
  std::atomic<uint64_t> too_old_unseen_{0};
  std::array<Stripe, kStripes> stripes_;
  mutable std::shared_mutex windows_mu_;
  std::map<int64_t, std::shared_ptr<ChunkWindow>> windows_
      ABSL_GUARDED_BY(windows_mu_);
  // Last, so that its runner starts once everything it walks exists; the
  // destructor stops it first.
  std::unique_ptr<SeriesDefrag> defrag_;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SERIES_STORE_IMPL_H_
