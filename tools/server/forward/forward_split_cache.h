// ForwardSplitCache: the queue records one destination's sender shards are
// reading, each read from disk, checked and split by shard once, and
// shared by the shards.
//
// A shard sends only its own series (hash % shards) of every record, and
// the shards of one destination move through the queue at about the same
// pace. Each reading and walking every record on its own would multiply
// the read, checksum and walk by the shard count; through the cache the
// first shard to ask for a record loads it (the others asking meanwhile
// wait for that load rather than repeat it), and each shard walks only
// its own entries. The cache keeps the newest records up to a byte budget
// (always the last one loaded), and the buffers of one evicted record that
// no shard holds, for the next load; a shard far behind the others loads
// its record again, which costs time, never correctness.
//
//   ForwardSplitCache cache(queue, /*shards=*/4, /*max_bytes=*/16 << 20);
//   auto record = cache.Get(position);        // shared_ptr<const SplitRecord>
//   for (const SplitEntry& e : (*record)->shard(2)) ... (*record)->series(e)
//
// Thread safety: Get may run on any thread; a SplitRecord is immutable.
// Ownership: the queue must outlive the cache.
#ifndef KEEL_TOOLS_SERVER_FORWARD_FORWARD_SPLIT_CACHE_H_
#define KEEL_TOOLS_SERVER_FORWARD_FORWARD_SPLIT_CACHE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alloc/arena_allocator.h"
#include "tools/server/forward/forward_queue.h"
#include "tools/server/forward/forward_record.h"

namespace keel::tools {

// One entry of a split record: where its series message lies in the
// record's bytes.
struct SplitEntry {
  uint32_t index = 0;  // in the record (a ForwardPosition's entry)
  uint32_t samples = 0;
  int64_t max_timestamp_ms = 0;
  uint32_t offset = 0;  // of its prompb.TimeSeries message
  uint32_t length = 0;
};

class SplitRecord {
 public:
  // Reads the record at `position` and splits its entries over `shards`,
  // into `reuse`'s buffers when given (one no longer used: a fresh buffer
  // is zeroed before the read overwrites it, and its pages faulted in).
  // Errors: ForwardQueue::Read's, and a malformed record's
  // (InvalidArgument).
  static absl::StatusOr<std::shared_ptr<const SplitRecord>> Load(
      ForwardQueue& queue, uint64_t position, uint32_t shards,
      std::shared_ptr<SplitRecord> reuse = nullptr);

  uint64_t position() const { return position_; }
  uint64_t next() const { return next_; }  // the position after it
  // The entries of the shard's series, in record order.
  std::span<const SplitEntry> shard(uint32_t shard) const {
    return {entries_.data() + shard_begin_[shard],
            entries_.data() + shard_begin_[shard + 1]};
  }
  // The entry's series as a prompb.TimeSeries message.
  std::string_view series(const SplitEntry& e) const {
    return {bytes_.data() + e.offset, e.length};
  }
  // Bytes held, for the cache's budget.
  uint64_t footprint() const {
    return bytes_.capacity() + entries_.capacity() * sizeof(SplitEntry);
  }

 private:
  explicit SplitRecord(alloc::Arena& arena)
      : bytes_(alloc::ArenaAllocator<char>(arena)),
        entries_(alloc::ArenaAllocator<SplitEntry>(arena)) {}

  uint64_t position_ = 0;
  uint64_t next_ = 0;
  ForwardBuffer bytes_;
  // Grouped by shard: shard s's are [shard_begin_[s], shard_begin_[s + 1]).
  std::vector<SplitEntry, alloc::ArenaAllocator<SplitEntry>> entries_;
  std::vector<uint32_t> shard_begin_;
};

class ForwardSplitCache {
 public:
  ForwardSplitCache(ForwardQueue* queue, uint32_t shards, uint64_t max_bytes)
      : queue_(queue), shards_(shards), max_bytes_(max_bytes) {}
  ForwardSplitCache(const ForwardSplitCache&) = delete;
  ForwardSplitCache& operator=(const ForwardSplitCache&) = delete;

  // The record at `position`, split; loaded when the cache does not hold
  // it. Errors: SplitRecord::Load's (nothing is cached then).
  absl::StatusOr<std::shared_ptr<const SplitRecord>> Get(uint64_t position);

  // Records the shards asked for so far (Get calls), and those loaded from
  // the queue (a record evicted and asked for again counts twice). With the
  // cache large enough, loads are about gets / shards; near gets, every
  // shard reads and splits every record itself.
  uint64_t gets() const { return gets_.load(std::memory_order_relaxed); }
  uint64_t loads() const { return loads_.load(std::memory_order_relaxed); }

 private:
  ForwardQueue* const queue_;
  const uint32_t shards_;
  const uint64_t max_bytes_;

  std::mutex mu_;
  std::condition_variable loaded_;  // a load ended
  std::map<uint64_t, std::shared_ptr<const SplitRecord>> records_;
  std::set<uint64_t> loading_;
  std::shared_ptr<SplitRecord> spare_;  // evicted, held by no shard
  uint64_t bytes_ = 0;                  // the footprints of records_
  // Counted under mu_, read without it (a scrape).
  std::atomic<uint64_t> gets_ = 0;
  std::atomic<uint64_t> loads_ = 0;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FORWARD_FORWARD_SPLIT_CACHE_H_
