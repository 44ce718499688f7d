// SeriesStoreImpl::Select: the chunks of the series matchers pick, copied
// out under the stripe locks so that a SeriesSet reads without them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/series/internal/series_store_impl.h"

namespace keel::core::core_internal {

namespace {

// What a copied label set costs in memory, not only its characters: the
// vector and each Label's two strings, plus the heap blocks of strings too
// long for std::string's inline buffer. A selection's copied labels cost
// well beyond their text, and the budget must see that.
uint64_t LabelBytes(const Labels& labels) {
  constexpr std::size_t kInline = 15;  // libstdc++'s short-string capacity
  uint64_t bytes = sizeof(Labels) + labels.size() * sizeof(Label);
  for (const Label& l : labels) {
    if (l.name.size() > kInline) bytes += l.name.size() + 1;
    if (l.value.size() > kInline) bytes += l.value.size() + 1;
  }
  return bytes;
}

}  // namespace

SeriesSet SeriesStoreImpl::Select(std::span<const Matcher> matchers,
                                  int64_t mint, int64_t maxt,
                                  QueryContext& context) const {
  SeriesSet set;
  set.mint_ = mint;
  set.maxt_ = maxt;
  std::vector<uint32_t> refs;
  std::vector<Labels> labels;
  {
    std::shared_lock lock(index_mu_);
    refs = index_.Select(matchers, context);
    // The label array is sized before its strings are charged one by one:
    // charge its slots first, so that a selector over every series cannot
    // pass the room by the array alone.
    if (!context.AddSelectedBytes(refs.size() *
                                  (sizeof(uint32_t) + sizeof(Labels)))) {
      return set;
    }
    labels.resize(refs.size());
    for (std::size_t i = 0; i < refs.size(); ++i) {
      index_.AppendLabels(index_.LabelsOf(refs[i]), labels[i]);
      if (!context.AddSelectedBytes(LabelBytes(labels[i])) ||
          !context.Work(labels[i].size())) {
        return set;
      }
    }
  }
  struct Pending {
    std::size_t series;  // into refs
    std::size_t first;   // into set.chunks_
  };
  std::vector<Pending> found;
  std::vector<std::pair<std::size_t, std::size_t>> head_offsets;  // chunk, byte
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (!context.Work()) return set;
    // The record is looked up under the stripe lock: retention may drop
    // the series meanwhile and a new series take its record.
    const Stripe& stripe = StripeOf(refs[i]);
    StripeGuard lock(stripe.mu);
    const Series& s = *table_.Find(refs[i]);
    if (s.dead) continue;
    std::size_t first = set.chunks_.size();
    // Sealed chunks are in time order and a chunk's times are read from its
    // own bytes (a cache miss each): find the first ending at or after mint
    // by bisection, and stop at the first starting after maxt.
    uint32_t begin = 0;
    for (uint32_t end = s.sealed_count; begin < end;) {
      uint32_t mid = begin + (end - begin) / 2;
      if (s.sealed[mid].max_time() < mint) {
        begin = mid + 1;
      } else {
        end = mid;
      }
    }
    for (uint32_t c = begin; c < s.sealed_count; ++c) {
      const SealedChunk& chunk = s.sealed[c];
      int64_t min_time = chunk.min_time();
      if (min_time > maxt) break;
      int64_t max_time =
          static_cast<int64_t>(static_cast<uint64_t>(min_time) + chunk.span);
      int64_t w = WindowOf(min_time);
      if (set.windows_.empty() || set.windows_.back()->index() != w) {
        bool held = std::any_of(set.windows_.begin(), set.windows_.end(),
                                [w](const auto& x) { return x->index() == w; });
        if (!held) HoldWindow(w, set.windows_);
      }
      set.chunks_.push_back({min_time, max_time, chunk.samples(),
                             chunk.encoding(), chunk.view()});
      set.chunk_bytes_ += chunk.bytes;
      set.sample_count_ += chunk.samples();
    }
    if (s.head != nullptr) {
      std::span<const uint8_t> bytes(s.head, s.head_state.bytes());
      int64_t min_time = XorFirstTimestamp(bytes);
      if (s.head_state.t >= mint && min_time <= maxt) {
        head_offsets.push_back({set.chunks_.size(), set.head_copies_.size()});
        set.head_copies_.insert(set.head_copies_.end(), bytes.begin(),
                                bytes.end());
        set.chunks_.push_back(
            {min_time, s.head_state.t, s.head_state.count, kXorEncoding, {}});
        set.chunk_bytes_ += bytes.size();
        set.sample_count_ += s.head_state.count;
      }
    }
    if (set.chunks_.size() > first) found.push_back({i, first});
  }
  // The head copies lie back to back; point each chunk at its own.
  for (std::size_t k = 0; k < head_offsets.size(); ++k) {
    std::size_t begin = head_offsets[k].second;
    std::size_t end = k + 1 < head_offsets.size() ? head_offsets[k + 1].second
                                                  : set.head_copies_.size();
    set.chunks_[head_offsets[k].first].bytes = {set.head_copies_.data() + begin,
                                                end - begin};
  }
  set.entries_.reserve(found.size());
  for (std::size_t k = 0; k < found.size(); ++k) {
    std::size_t end =
        k + 1 < found.size() ? found[k + 1].first : set.chunks_.size();
    SeriesRef ref = refs[found[k].series];
    set.label_count_ += labels[found[k].series].size();
    set.entries_.push_back(
        {ref, std::move(labels[found[k].series]),
         std::span<const ChunkData>(set.chunks_)
             .subspan(found[k].first, end - found[k].first)});
  }
  return set;
}

}  // namespace keel::core::core_internal
