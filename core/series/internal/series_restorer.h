// SeriesBulkRestore: the state behind SeriesRestorer (see series_store.h).
//
// Why it is fast where RestoreSeries and RestoreChunk are not, per series
// and per chunk:
// - strings are interned once, as they arrive (a few behind, so that the
//   table slots of the next ones are prefetched meanwhile), and series name
//   them by number, so no label string is hashed or compared per series;
//   each string is checked once per role (name, value, metric name);
// - a label's pair is remembered per value string (values rarely go with
//   more than one name; those that do keep their pairs in a side map), so
//   the store's pair map is not probed per label; new pairs enter it at
//   Finish, all at once, with prefetching;
// - the hash tables are sized from the counts up front, and postings are
//   built at Finish in one pass (refs come in order, so lists stay sorted)
//   instead of growing one push at a time;
// - the store's locks are taken once for the whole restore, and each
//   window's lock once for its run of chunks;
// - a series' sealed-chunk array is allocated once for the average chunk
//   count, and trimmed to its count's size class at Finish, instead of
//   moving through every size class as it fills.
//
// Thread safety: one thread; holds every lock of the store from
// construction until Finish.
#ifndef KEEL_CORE_SERIES_INTERNAL_SERIES_RESTORER_H_
#define KEEL_CORE_SERIES_INTERNAL_SERIES_RESTORER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/series/internal/series_store_impl.h"
#include "core/series/series_store.h"

namespace keel::core::core_internal {

// What a restored chunk must be, checked by decoding it: XOR encoded, 3 to
// 65535 bytes, its header's sample count the record's, its bit stream
// decoding to exactly that many samples without reading past its bytes, its
// timestamps strictly ascending from min_time to max_time. A checksum shows
// only that the bytes are those written; a writer's fault (or a crafted file)
// would otherwise put samples out of order or out of the chunk's time range,
// which queries trust. The snapshot reader calls it on every chunk, for a
// restore and a verify alike (beside the parse, on its own threads), so both
// accept the same chunks; SeriesBulkRestore::AddChunk, like RestoreChunk,
// trusts the bit stream it is given. Errors are
// InvalidArgument naming `series` (the caller's number for it), the chunk's
// range and the field or sample at fault.
absl::Status CheckChunkContent(uint64_t series, const ChunkData& chunk);
// The part of CheckChunkContent that reads only the chunk's first bytes
// (encoding, length, header count, first timestamp), for a caller that runs
// the decode elsewhere but wants these errors at once, worded the same.
absl::Status CheckChunkHeader(uint64_t series, const ChunkData& chunk);

class SeriesBulkRestore {
 public:
  // Takes the store's locks; releases them at once if the store holds
  // series already (then store_was_new() is false and nothing else may be
  // called).
  SeriesBulkRestore(SeriesStoreImpl& store, const RestoreSizes& sizes);
  ~SeriesBulkRestore();
  SeriesBulkRestore(const SeriesBulkRestore&) = delete;
  SeriesBulkRestore& operator=(const SeriesBulkRestore&) = delete;

  bool store_was_new() const { return store_was_new_; }

  void AddString(std::string_view s);
  absl::StatusOr<SeriesRef> AddSeries(std::span<const RestoreLabel> labels);
  absl::Status AddChunk(SeriesRef ref, const ChunkData& chunk);
  // Sealed frames and their entries (sealed_restore.cc): see SeriesRestorer.
  absl::Status AddFrame(std::span<const uint8_t> frame, uint32_t group_bytes);
  absl::Status AddSealedEntry(SeriesRef ref, uint32_t frame,
                              const SealedEntryInfo& entry);
  void Finish();

 private:
  // Per symbol, what has been checked of it and found.
  enum Check : uint8_t {
    kNameChecked = 1,
    kNameOk = 2,  // a valid label name within the limit
    kMetricName = 4,
    kValueChecked = 8,
    kValueOk = 16,  // non-empty valid UTF-8 within the limit
    kMetricChecked = 32,
    kMetricOk = 64,  // a valid metric name
  };
  // The pair a value symbol was last seen in.
  struct LastPair {
    uint32_t name = UINT32_MAX;
    uint32_t pair = 0;
  };

  // The pair (name, value) of symbols, added if new.
  uint32_t Pair(uint32_t name, uint32_t value) {
    const LastPair& last = last_pair_[value];
    return last.name == name ? last.pair : OtherPair(name, value);
  }
  [[gnu::noinline]] uint32_t OtherPair(uint32_t name, uint32_t value);
  // Interns the oldest pending string, or all of them.
  void InternPending();
  void InternAllPending() {
    while (pending_count_ > 0) InternPending();
  }
  bool NameOk(uint32_t symbol);
  bool ValueOk(uint32_t symbol, bool metric);
  // Labels that need NormalizeLabels' full treatment: unsorted, empty
  // values, or breaking a rule (then the error is NormalizeLabels' own).
  [[gnu::noinline]] absl::StatusOr<SeriesRef> AddSeriesSlow(
      std::span<const RestoreLabel> labels);
  absl::StatusOr<SeriesRef> Create();
  [[gnu::cold]] absl::Status Exists() const;
  void PushSealed(Series& s, SealedChunk chunk);
  void Release();

  SeriesStoreImpl& store_;
  bool store_was_new_ = true;
  bool finished_ = false;
  uint32_t expected_chunks_ = 1;  // per series, for its first allocation
  // Strings copied into the index and prefetched, not interned yet: the
  // numbers from symbols_.size() on.
  static constexpr std::size_t kAhead = 16;
  std::array<std::string_view, kAhead> pending_;
  std::size_t pending_first_ = 0;
  std::size_t pending_count_ = 0;
  std::vector<uint32_t> symbols_;    // string number -> symbol id
  std::vector<uint8_t> checks_;      // per symbol id: Check bits
  std::vector<LastPair> last_pair_;  // per value symbol id
  // Every pair of the values seen with more than one name.
  absl::flat_hash_map<uint64_t, uint32_t> shared_values_;
  std::vector<int64_t> last_time_;  // per ref: max time of its last chunk
  std::vector<uint32_t> pairs_;     // the series being added
  // The window of the last chunk, held locked (none before the first
  // chunk: an empty range).
  std::optional<ChunkWindow::Writer> window_;
  int64_t window_start_ = INT64_MAX;
  int64_t window_last_ = INT64_MIN;
  // Restored frames: where each lies and its window; the buffer the
  // current group of frames fills.
  struct RestoredFrame {
    const uint8_t* at;
    int64_t window;
  };
  std::vector<RestoredFrame> frames_;
  uint8_t* group_at_ = nullptr;
  std::size_t group_left_ = 0;
  int64_t group_window_ = 0;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SERIES_RESTORER_H_
