// SeriesStoreImpl::Truncate and ApplyRetention: dropping whole chunk
// windows, the series they empty, and the memory they held.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "alloc/stats.h"
#include "core/series/internal/series_store_impl.h"

namespace keel::core::core_internal {

TruncateResult SeriesStoreImpl::Truncate(int64_t before) {
  std::lock_guard truncating(truncate_mu_);
  int64_t cut = WindowOf(before);
  TruncateResult result;
  if (cut <= min_window_.load(std::memory_order_relaxed)) {
    result.kept_from = OldestAppendable();
    return result;
  }
  min_window_.store(cut, std::memory_order_release);
  result.kept_from = WindowStart(cut);
  uint64_t held_before = alloc::CaptureArenaStats(arena_).memory.allocated;
  std::vector<SeriesRef> dead;
  std::lock_guard index_lock(index_mu_);
  uint32_t size = table_.size();
  for (unsigned i = 0; i < kStripes; ++i) {
    Stripe& stripe = stripes_[i];
    StripeGuard lock(stripe.mu);
    ForEachRefInStripe(i, size, [&](SeriesRef ref) {
      Series& s = *table_.Find(ref);
      if (s.dead) return;
      uint32_t n = 0;
      while (n < s.sealed_count && WindowOf(s.sealed[n].min_time()) < cut) ++n;
      if (n > 0) DropSealed(s, stripe, n);
      bool head_dropped = s.head != nullptr && WindowOf(s.head_last) < cut;
      if (head_dropped) FreeHead(s, stripe);
      result.chunks += n + (head_dropped ? 1 : 0);
      // Only series this truncation emptied: one created but not yet
      // appended to (or restored into) has no chunks to lose.
      if ((n > 0 || head_dropped) && s.head == nullptr && s.sealed_count == 0) {
        // Its record goes to the next new series; the ref is never reused.
        table_.Remove(ref);
        dead.push_back(ref);
      }
    });
  }
  std::sort(dead.begin(), dead.end());
  index_.RemoveSeries(dead);
  dead_series_ += dead.size();
  std::vector<std::shared_ptr<ChunkWindow>> dropped;
  {
    std::lock_guard lock(windows_mu_);
    while (!windows_.empty() && windows_.begin()->first < cut) {
      dropped.push_back(std::move(windows_.begin()->second));
      windows_.erase(windows_.begin());
    }
  }
  dropped.clear();  // frees the blocks no SeriesSet holds
  uint64_t held_after = alloc::CaptureArenaStats(arena_).memory.allocated;
  if (held_after < held_before) purge_.Freed(held_before - held_after);
  result.series = dead.size();
  return result;
}

TruncateResult SeriesStoreImpl::ApplyRetention(int64_t now_ms) {
  // A stripe's max_time never falls, so it may be an outlier ahead of the
  // clock (stored before this anchor existed, restored from a snapshot,
  // or inside the caller's allowance): the clock caps it.
  int64_t newest = INT64_MIN;
  for (const Stripe& stripe : stripes_) {
    StripeGuard lock(stripe.mu);
    newest = std::max(newest, stripe.max_time);
  }
  TruncateResult nothing;
  nothing.kept_from = OldestAppendable();
  if (newest == INT64_MIN) return nothing;
  int64_t anchor_window = WindowOf(std::min(newest, now_ms));
  if (anchor_window < INT64_MIN + options_.retention_windows) return nothing;
  int64_t first_kept = anchor_window - (options_.retention_windows - 1);
  int64_t before = WindowStart(first_kept);
  if (WindowOf(before) != first_kept) return nothing;  // saturated
  TruncateResult result = Truncate(before);
  // Windows before the anchor's take no more appends but from a series idle
  // since (a stopped one, under turnover): its head, which would hold its
  // capacity until the window expires, is sealed into the window at its
  // size, then the windows' last blocks give their tails back.
  std::lock_guard truncating(truncate_mu_);
  const uint32_t size = table_.size();
  for (unsigned i = 0; i < kStripes; ++i) {
    Stripe& stripe = stripes_[i];
    StripeGuard lock(stripe.mu);
    ForEachRefInStripe(i, size, [&](SeriesRef ref) {
      Series& s = *table_.Find(ref);
      if (!s.dead && s.head != nullptr &&
          WindowOf(s.head_last) < anchor_window) {
        SealHead(s);
      }
    });
  }
  std::vector<std::shared_ptr<ChunkWindow>> closed;
  {
    std::shared_lock lock(windows_mu_);
    for (auto it = windows_.begin();
         it != windows_.end() && it->first < anchor_window; ++it) {
      closed.push_back(it->second);
    }
  }
  std::size_t trimmed = 0;
  for (const std::shared_ptr<ChunkWindow>& window : closed) {
    trimmed += window->Trim();
  }
  if (trimmed > 0) purge_.Freed(trimmed);
  return result;
}

}  // namespace keel::core::core_internal
