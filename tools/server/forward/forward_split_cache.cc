#include "tools/server/forward/forward_split_cache.h"

#include <utility>

namespace keel::tools {

absl::StatusOr<std::shared_ptr<const SplitRecord>> SplitRecord::Load(
    ForwardQueue& queue, uint64_t position, uint32_t shards,
    std::shared_ptr<SplitRecord> reuse) {
  std::shared_ptr<SplitRecord> split =
      reuse != nullptr
          ? std::move(reuse)
          : std::shared_ptr<SplitRecord>(new SplitRecord(queue.arena()));
  split->position_ = position;
  if (absl::Status s = queue.Read(position, &split->bytes_, &split->next_);
      !s.ok()) {
    return s;
  }
  // One walk in record order, then the entries grouped by shard (a
  // counting sort keeps each shard's in record order).
  const std::string_view bytes(split->bytes_.data(), split->bytes_.size());
  std::vector<SplitEntry> in_order;
  std::vector<uint32_t> shard_of;
  in_order.reserve(split->entries_.size());  // a reused record's: a guess
  shard_of.reserve(split->entries_.size());
  absl::Status walked =
      ForEachForwardEntry(bytes, [&](size_t i, const ForwardEntry& e) {
        in_order.push_back(
            {.index = static_cast<uint32_t>(i),
             .samples = e.samples,
             .max_timestamp_ms = e.max_timestamp_ms,
             .offset = static_cast<uint32_t>(e.series.data() - bytes.data()),
             .length = static_cast<uint32_t>(e.series.size())});
        shard_of.push_back(e.hash % shards);
        return true;
      });
  if (!walked.ok()) return walked;
  split->shard_begin_.assign(shards + 1, 0);
  for (uint32_t s : shard_of) ++split->shard_begin_[s + 1];
  for (uint32_t s = 0; s < shards; ++s) {
    split->shard_begin_[s + 1] += split->shard_begin_[s];
  }
  std::vector<uint32_t> fill(split->shard_begin_.begin(),
                             split->shard_begin_.end() - 1);
  split->entries_.resize(in_order.size());
  for (size_t i = 0; i < in_order.size(); ++i) {
    split->entries_[fill[shard_of[i]]++] = in_order[i];
  }
  return split;
}

absl::StatusOr<std::shared_ptr<const SplitRecord>> ForwardSplitCache::Get(
    uint64_t position) {
  std::unique_lock lock(mu_);
  gets_.fetch_add(1, std::memory_order_relaxed);
  while (true) {
    if (auto it = records_.find(position); it != records_.end()) {
      return it->second;
    }
    if (!loading_.contains(position)) break;
    loaded_.wait(lock);  // another shard is loading it
  }
  loading_.insert(position);
  loads_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<SplitRecord> reuse = std::move(spare_);
  lock.unlock();
  auto split = SplitRecord::Load(*queue_, position, shards_, std::move(reuse));
  lock.lock();
  loading_.erase(position);
  loaded_.notify_all();
  if (!split.ok()) return split.status();
  bytes_ += (*split)->footprint();
  records_.emplace(position, *split);
  // The oldest go first: the shards move forward through the queue.
  while (bytes_ > max_bytes_ && records_.size() > 1 &&
         records_.begin()->first != position) {
    std::shared_ptr<const SplitRecord>& oldest = records_.begin()->second;
    bytes_ -= oldest->footprint();
    // Only the cache hands records out, under mu_: no shard can take this
    // one from here on.
    if (spare_ == nullptr && oldest.use_count() == 1) {
      spare_ = std::const_pointer_cast<SplitRecord>(std::move(oldest));
    }
    records_.erase(records_.begin());
  }
  return split;
}

}  // namespace keel::tools
