// SeriesStore: the in-memory head of a Prometheus-like time-series database.
//
// A series is a label set with a stable SeriesRef and a list of XOR chunks
// (see xor_chunk.h). Each chunk covers part of one time window (default 2 h):
// the open "head" chunk grows through alloc::GrowthPolicy and is sealed when
// a sample falls in a later window or the chunk reaches max_chunk_samples or
// max_chunk_bytes. By default a sealed chunk's exact bytes are copied into
// its window's block pool (bump allocation in blocks of up to 64 KiB, after
// Beringei's BucketStorage), so sealed chunks carry no size-class slack and
// dropping a window frees whole blocks. All memory comes from the store's
// alloc::Arena (or glibc malloc for chunk bytes, for comparisons), so the
// arena's statistics are the store's footprint.
//
//   keel::core::SeriesStore store;
//   auto ref = store.GetOrCreate({{"__name__", "up"}, {"job", "node"}});
//   store.Append(*ref, 1700000000000, 1.0);
//   auto m = keel::core::ParseSelector(R"(up{job=~"no.*"})");
//   keel::core::SeriesSet set = store.Select(*m, INT64_MIN, INT64_MAX);
//   for (const auto& s : set.series())
//     for (auto it = set.Samples(s); it.Next();) use(it.t(), it.v());
//
// Append rules: a sample older than its series' last one is rejected
// (counted); the same timestamp with the same value bits is ignored; the
// same timestamp with another value is rejected (counted); a sample in a
// window Truncate already dropped is rejected (counted). Refs are never
// reused: once Truncate drops a series its ref answers kUnknownSeries, and
// the same labels get a new ref.
//
// Time and limits: retention is anchored to the caller's clock, never to the
// newest sample alone, so one sample stamped far in the future cannot make
// the present look old (ApplyRetention). A store never holds more than
// max_series live series. A caller that creates series only for samples it
// will store (see OldestAppendable and Find) leaves no empty series behind:
// the Append taking labels does so itself.
//
// Thread safety: every method may be called from any number of threads at
// once. Series are striped over 64 locks by runs of 64 refs, so appenders
// on different series rarely meet; Select and Cut take each stripe's lock
// briefly, copy the open chunks' bytes, and keep the windows holding the sealed
// chunks alive, so a SeriesSet stays valid and unchanged while appends,
// Truncate and retention go on. A SeriesSet must not outlive its store.
#ifndef KEEL_CORE_SERIES_SERIES_STORE_H_
#define KEEL_CORE_SERIES_SERIES_STORE_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "alloc/arena.h"
#include "alloc/defrag.h"
#include "alloc/stats.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/labels.h"
#include "core/series/matcher.h"
#include "core/series/query_context.h"
#include "core/series/xor_chunk.h"

namespace keel::core {

namespace core_internal {
class SeriesStoreImpl;
class SeriesBulkRestore;
class ChunkWindow;
}  // namespace core_internal

using SeriesRef = uint32_t;

// Where chunk bytes (head buffers, sealed chunks, window blocks) come from.
enum class ChunkMemory {
  kArena,       // the store's alloc::Arena
  kLibcMalloc,  // glibc's own malloc (__libc_malloc), for comparisons
};

// What happens to a head chunk's buffer when it seals.
enum class SealedChunkLayout {
  // Exact bytes copied into the window's block pool; head buffer freed.
  kPackedPerWindow,
  // The head buffer is kept as it grew, slack included (how a naive
  // implementation or Prometheus' Go heap holds chunks). Owned by the window.
  kOwnBuffer,
};

// How RestoreChunk sizes a chunk under SealedChunkLayout::kOwnBuffer (with
// kPackedPerWindow restored chunks are packed like ingested ones).
enum class RestoreCapacity {
  kGrowthPolicy,  // the capacity ingestion would have reached at that size
  kExact,         // exactly the chunk's size (the naive baseline)
};

struct SeriesStoreOptions {
  int64_t chunk_window_ms = 2 * 3600 * 1000;  // 1 ms .. 2^31 - 1 ms
  uint32_t retention_windows = 8;             // ApplyRetention keeps these
  uint32_t max_chunk_samples = 120;           // 1 .. 65535
  uint32_t max_chunk_bytes = 1024;            // cut at this size; <= 32768
  std::size_t head_first_capacity = 128;      // GrowthPolicy's first; 30..4096
  double head_min_growth = 0.0;               // GrowthPolicy min_growth
  ChunkMemory chunk_memory = ChunkMemory::kArena;
  SealedChunkLayout sealed_layout = SealedChunkLayout::kPackedPerWindow;
  RestoreCapacity restore_capacity = RestoreCapacity::kGrowthPolicy;
  LabelLimits label_limits;
  std::size_t purge_threshold_bytes = 8u << 20;  // alloc::PurgePolicy's
  const char* arena_name = "series";             // not null
  // The arena asks for transparent huge pages (alloc::ArenaOptions) while a
  // bulk restore (BeginRestore until Finish) fills it: a restore of
  // gigabytes then takes one page fault per 2 MiB, not per 4 KiB. Outside
  // it they are not asked for, since ingestion's frontier would fault 2 MiB
  // where it touches 4 KiB.
  bool huge_pages = true;
  // Live series GetOrCreate may reach; 0 for no limit but the 2^32 - 1
  // refs. Restores are not limited: they bring back series the store
  // already held, and refusing them would refuse the whole snapshot.
  uint64_t max_series = 0;
  // Active defragmentation in the background: a thread per store moves
  // small objects (chunk arrays, head buffers, labels, postings) out of
  // sparse slabs, spending 1-25% of a core while the arena is fragmented
  // and none otherwise (see core/series/internal/series_defrag.h). Off, the
  // store defragments only when asked (Defragment, SetMemoryPressure).
  bool defrag = true;
};

// One chunk as a query, a cut or a restore sees it.
struct ChunkData {
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint16_t samples = 0;
  uint8_t encoding = kXorEncoding;
  std::span<const uint8_t> bytes;  // the whole chunk, header included
};

enum class AppendResult : uint8_t {
  kAppended,
  kDuplicate,     // same timestamp, same value bits: ignored
  kOutOfOrder,    // older than the series' last sample: rejected
  kConflict,      // same timestamp, other value: rejected
  kTooOld,        // in a window Truncate or retention already dropped
  kUnknownSeries  // no live series has this ref
};

// One sample for AppendBatch.
struct RefSample {
  SeriesRef ref;
  int64_t t;
  double v;
};

struct SeriesStoreStats {
  uint64_t series = 0;        // live series
  uint64_t samples = 0;       // samples held
  uint64_t chunks = 0;        // sealed and head chunks
  uint64_t windows = 0;       // time windows holding sealed chunks
  uint64_t live_bytes = 0;    // bytes the chunk encodings use
  uint64_t chunk_bytes = 0;   // bytes the allocator holds for chunk bytes
  uint64_t appended = 0;      // samples accepted since creation
  uint64_t duplicates = 0;    // ignored as duplicates
  uint64_t out_of_order = 0;  // rejected as older than the last sample
  uint64_t conflicts = 0;     // rejected: same timestamp, other value
  uint64_t too_old = 0;       // rejected: in a dropped window (or, through
                              // Append(labels), before OldestAppendable)
  // Of chunk_bytes and live_bytes, what the open (head) chunks hold:
  uint64_t head_chunk_bytes = 0;
  uint64_t head_live_bytes = 0;
  int64_t min_time = std::numeric_limits<int64_t>::max();  // over held samples
  int64_t max_time = std::numeric_limits<int64_t>::min();
  // What the store needs beside chunk bytes, at the sizes it asks for:
  uint64_t label_bytes = 0;   // strings live series use (each stored once)
  uint64_t index_bytes = 0;   // postings, label arrays, lookup entries
  uint64_t series_bytes = 0;  // live series' records and sealed-chunk arrays
  uint64_t dead_series = 0;   // dropped; refs stay unique (12 B each)
  alloc::MemoryStats arena;   // the store's arena, every structure
};

// One label of a series for SeriesRestorer::AddSeries: the numbers of its
// name and value among the strings added so far.
struct RestoreLabel {
  uint32_t name;
  uint32_t value;
};

// What a bulk restore will add, so the store sizes its tables once: give
// the real counts (a snapshot header's). Other counts are still correct,
// only slower (fewer) or larger while restoring (more).
struct RestoreSizes {
  uint64_t strings = 0;
  uint64_t series = 0;
  uint64_t chunks = 0;
};

// What Truncate or ApplyRetention dropped.
struct TruncateResult {
  std::size_t series = 0;  // left without chunks, so dropped
  uint64_t chunks = 0;     // sealed and head chunks
  // The oldest timestamp kept: OldestAppendable() afterwards.
  int64_t kept_from = std::numeric_limits<int64_t>::min();
};

class SeriesSet;
class SeriesRestorer;

class SeriesStore {
 public:
  // REQUIRES: CheckOptions(options).ok(). Bad options abort the process,
  // naming the option, rather than be changed into values nobody chose:
  // callers taking options from users check them first.
  explicit SeriesStore(SeriesStoreOptions options = {});
  ~SeriesStore();
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  // InvalidArgument, naming the option and its range, unless every option
  // is within the ranges SeriesStoreOptions states.
  static absl::Status CheckOptions(const SeriesStoreOptions& options);

  // The series with these labels (normalized: see NormalizeLabels), created
  // if needed. Errors: InvalidArgument for labels breaking the rules;
  // ResourceExhausted, naming the limit, when a new series would pass
  // max_series.
  absl::StatusOr<SeriesRef> GetOrCreate(Labels labels);
  // As GetOrCreate, but a series that does not exist yet is created only if
  // `admit_new()` returns true; false creates nothing (no string or pair
  // either) and returns nullopt. admit_new runs at most once, under the
  // index's writer lock: keep it short and never call the store from it.
  // For a caller that bounds the series one request may create, in a single
  // lookup:
  //
  //   auto ref = store.GetOrCreateIf(labels, [&] {
  //     return created < limit ? (++created, true) : false;
  //   });
  absl::StatusOr<std::optional<SeriesRef>> GetOrCreateIf(
      Labels labels, absl::FunctionRef<bool()> admit_new);
  // The series with these labels, or nullopt if there is none; never
  // creates one. Errors: InvalidArgument as GetOrCreate. (Absence is a
  // value, not an error: remote write asks for every series it receives.)
  absl::StatusOr<std::optional<SeriesRef>> Find(Labels labels) const;

  // The hot path. Never fails on data; see AppendResult.
  AppendResult Append(SeriesRef ref, int64_t t, double v);
  // GetOrCreate, then Append; a sample before OldestAppendable is kTooOld
  // without creating the series.
  absl::StatusOr<AppendResult> Append(Labels labels, int64_t t, double v);
  // Appends a batch, such as one scrape, in order, as Append would; while
  // appending one sample it prefetches the records and head chunks of the
  // next ones, which matters once the series outgrow the CPU caches. Fills
  // `results` (if not empty; REQUIRES then results.size() ==
  // samples.size()) and returns the number appended.
  std::size_t AppendBatch(std::span<const RefSample> samples,
                          std::span<AppendResult> results = {});

  // Series matching every matcher with a sample in [mint, maxt]; the set's
  // iterators yield only samples inside that range.
  SeriesSet Select(std::span<const Matcher> matchers, int64_t mint,
                   int64_t maxt) const;
  // Select under a query's deadline, cancellation and budgets: matching
  // label values, combining postings and copying the selected series'
  // labels (counted as selected bytes) are charged to `context`, and the
  // selection stops with the context's error once it fails.
  absl::StatusOr<SeriesSet> Select(std::span<const Matcher> matchers,
                                   int64_t mint, int64_t maxt,
                                   QueryContext& context) const;

  // A consistent cut of every series and all its chunks, for snapshots:
  // each stripe is locked only while its series are read and their head
  // chunks copied. Series come in ref order; chunks in time order.
  SeriesSet Cut() const;

  // Restoring into a new store (never the live one), in the snapshot's
  // order: series first, then chunks chronologically. Restored chunks are
  // sealed: the next Append to the series opens a new head chunk.
  absl::StatusOr<SeriesRef> RestoreSeries(Labels labels);
  // Errors: NotFound for an unknown ref; InvalidArgument when the chunk is
  // not XOR, is empty, its header disagrees with `samples`, its first
  // timestamp with min_time, it spans windows or does not start after the
  // series' last sample, or it exceeds 65535 bytes. Trusts the bit stream
  // itself (snapshots checksum it).
  absl::Status RestoreChunk(SeriesRef ref, const ChunkData& chunk);
  // The bulk form of the two above, for a whole snapshot: see
  // SeriesRestorer. Errors: FailedPrecondition unless the store is new
  // (no series yet).
  absl::StatusOr<SeriesRestorer> BeginRestore(const RestoreSizes& sizes);

  // Drops every window ending at or before `before` (so every chunk, head
  // chunks included, whose window lies wholly before it), then series this
  // left without chunks and their postings (a series not yet appended to
  // stays), and feeds the freed bytes to the
  // arena's PurgePolicy. Returns the number of series dropped. Chunks still
  // referenced by a live SeriesSet are freed when the set goes.
  std::size_t Truncate(int64_t before);
  // Truncate to keep retention_windows windows, counted back from the window
  // of min(newest sample, now_ms): data written late (backfill) is kept
  // while its newest sample is recent for it, yet a sample ahead of the
  // clock cannot push the present out of retention, and OldestAppendable
  // never passes now_ms minus the retention. `now_ms` is the caller's wall
  // clock (tests and simulations pass their own time).
  TruncateResult ApplyRetention(int64_t now_ms);
  // The oldest timestamp Append accepts: the start of the oldest window
  // Truncate kept, INT64_MIN before any. It only rises.
  int64_t OldestAppendable() const;

  SeriesStoreStats Stats() const;
  const SeriesStoreOptions& options() const;

  // Memory pressure, from a memory budget's soft mark. High: the store's
  // defragmenter works at full effort and purges its freed pages at once
  // (with options().defrag off, one pass runs now on the calling thread);
  // low: back to the effort its fragmentation calls for.
  void SetMemoryPressure(bool high);
  bool memory_pressure() const;
  // One whole defragmentation pass now, on the calling thread, ending with a
  // purge: for callers that run in simulated time (keel churn) or want the
  // memory back before a measurement.
  void Defragment();
  // This store's defragmentation so far (keel_defrag_* sums every store's).
  alloc::DefragStats defrag_stats() const;
  alloc::Arena& arena() const;

  // The window a timestamp belongs to: floor(t / chunk_window_ms).
  int64_t WindowOf(int64_t t) const;

  // Re-encodes every window before the one of min(newest sample, now_ms)
  // (a window that takes no more appends) in the sealed encoding
  // (core/series/internal/sealed_codec.h): a fraction of the XOR bytes,
  // read like any chunk. Heads still open in such a window are sealed
  // first; a later sample in it starts an XOR chunk there. Encodes with no
  // lock held (appends and queries go on), swaps each series' refs under
  // its stripe lock, and frees the XOR blocks whole. Returns the number of
  // windows sealed. Meant for a background thread: one call runs at a time.
  std::size_t SealWindows(int64_t now_ms);
  // The same, asking `stop` before each stripe's share of the work: once it
  // returns true, the window being built is dropped unpublished (its samples
  // stay in XOR chunks, sealed by a later call) and the call returns, so a
  // server's shutdown waits for one stripe's encoding at most.
  std::size_t SealWindows(int64_t now_ms, absl::FunctionRef<bool()> stop);
  // What sealed windows hold: samples in sealed entries and the bytes
  // allocated for the sealed windows' blocks. Walks every series.
  struct SealedStats {
    uint64_t windows = 0;
    uint64_t samples = 0;
    uint64_t bytes = 0;
  };
  SealedStats GetSealedStats() const;

 private:
  friend class SeriesSet;
  std::unique_ptr<core_internal::SeriesStoreImpl> impl_;
};

// SeriesRestorer: restores a snapshot into a new store in bulk, faster than
// RestoreSeries and RestoreChunk one at a time (tables sized once, postings
// built once at the end), with the same checks and the same resulting store.
// Strings come first (each once, numbered in order), then series as string
// numbers, then chunks; Finish builds the postings and hands the store back to
// other threads.
//
//   auto restorer = store.BeginRestore({strings, series, chunks});
//   restorer->AddString("__name__");                     // string 0
//   restorer->AddString("up");                           // string 1
//   std::vector<keel::core::RestoreLabel> up = {{0, 1}};  // up{}
//   auto ref = restorer->AddSeries(up);
//   restorer->AddChunk(*ref, chunk);
//   restorer->Finish();
//
// Each label set is checked as NormalizeLabels would (a string once per
// role, not once per series). A series already in the store fails with
// AlreadyExists; AddChunk fails as RestoreChunk does. A failed call adds
// no series or chunk; the caller may go on or give up (RestoreSnapshot
// gives up and drops the store).
//
// Thread safety: one thread drives a restorer. From BeginRestore until
// Finish (or the restorer's destruction) the restorer holds every lock of
// the store, so other threads' calls on the store wait, and the same
// thread must not call the store's own methods (they would wait forever).
class SeriesRestorer {
 public:
  SeriesRestorer(SeriesRestorer&&) noexcept;
  SeriesRestorer& operator=(SeriesRestorer&&) noexcept;
  ~SeriesRestorer();  // Finishes

  void AddString(std::string_view s);
  // Errors: InvalidArgument for a string number not yet added or labels
  // breaking the rules; AlreadyExists.
  absl::StatusOr<SeriesRef> AddSeries(std::span<const RestoreLabel> labels);
  // REQUIRES: chunks in the order RestoreChunk requires.
  absl::Status AddChunk(SeriesRef ref, const ChunkData& chunk);
  // A sealed window's frame, copied as it is (a new frame id aside) into
  // the window of its first sample, for AddSealedEntry to point into.
  // `group_bytes` > 0 opens a buffer of that many bytes (at most a window
  // block) that this frame and the next ones, given 0, fill exactly; the
  // buffers come out as sealing packed them. Frames are numbered 0, 1, ...
  // in the order added. REQUIRES: CheckSealedFrame passed on `frame`; every
  // frame before any chunk. Errors: InvalidArgument for a group that
  // overflows, is left unfilled or crosses windows.
  absl::Status AddFrame(std::span<const uint8_t> frame, uint32_t group_bytes);
  // An entry of frame `frame` (as CheckSealedFrame described it) as the
  // series' next chunk, pointing into the frame: no copy, no re-encoding.
  // Errors: InvalidArgument for an unknown frame, an entry outside its
  // frame's window (a store with another chunk window) or not after the
  // series' previous chunk; NotFound for an unknown ref.
  absl::Status AddSealedEntry(SeriesRef ref, uint32_t frame,
                              const core_internal::SealedEntryInfo& entry);
  // Builds the postings, trims each series' chunk array to its size class
  // and releases the store. Later calls are ignored.
  void Finish();

 private:
  friend class SeriesStore;
  explicit SeriesRestorer(
      std::unique_ptr<core_internal::SeriesBulkRestore> impl);

  std::unique_ptr<core_internal::SeriesBulkRestore> impl_;
};

// Decodes one series' chunks of a SeriesSet, in time order, limited to the
// set's [mint, maxt]. Decodes a block of samples at a time into itself, so
// Next is a few instructions; about 2 KiB, meant for the stack (a sealed
// entry is read in place from its frame in the thread's decode cache).
class SampleIterator {
 public:
  bool Next() {
    if (++pos_ < end_) [[likely]] {
      return true;
    }
    return Advance();
  }
  int64_t t() const { return t_[pos_]; }
  double v() const { return std::bit_cast<double>(bits_[pos_]); }

 private:
  friend class SeriesSet;
  static constexpr std::size_t kBlock = 128;

  SampleIterator(std::span<const ChunkData> chunks, int64_t mint, int64_t maxt);
  bool Advance();

  std::span<const ChunkData> chunks_;
  std::size_t next_chunk_ = 0;
  XorIterator chunk_;
  core_internal::SealedDecoder sealed_;  // its buffer: the query's sealed one
  bool in_sealed_ = false;
  int64_t mint_;
  int64_t maxt_;
  uint32_t pos_ = 0;
  uint32_t end_ = 0;
  bool done_ = false;
  int64_t t_[kBlock];
  uint64_t bits_[kBlock];
};

// Gives back the calling thread's decode cache: the sealed frames its
// SampleIterators decompressed last (up to 8, with a zstd context: about
// 0.6 MiB), which the next series' entries in the same frames read without
// decompressing them again. Given-back caches wait (at most 4) for the next
// thread that reads. Call it when a thread that reads now and then, among
// many, is done (the query engine does, after each query): hundreds of
// request threads then hold as many caches as read at once, not one each.
// REQUIRES: no SampleIterator of the thread is still in use.
void ReturnThreadSampleCache();

// The result of Select or Cut: series with their labels and chunks, whose
// bytes stay valid and unchanged for the set's lifetime.
class SeriesSet {
 public:
  struct Entry {
    SeriesRef ref;
    Labels labels;
    std::span<const ChunkData> chunks;  // time order
  };

  SeriesSet(SeriesSet&&) noexcept;
  SeriesSet& operator=(SeriesSet&&) noexcept;
  ~SeriesSet();

  std::span<const Entry> series() const { return entries_; }
  SampleIterator Samples(const Entry& entry) const {
    return SampleIterator(entry.chunks, mint_, maxt_);
  }

  // Totals for sizing a snapshot up front.
  uint64_t chunk_count() const { return chunks_.size(); }
  uint64_t chunk_bytes() const { return chunk_bytes_; }  // sum of bytes
  uint64_t label_count() const { return label_count_; }
  uint64_t sample_count() const { return sample_count_; }

 private:
  friend class core_internal::SeriesStoreImpl;
  SeriesSet() = default;

  std::vector<Entry> entries_;
  std::vector<ChunkData> chunks_;
  std::vector<uint8_t> head_copies_;  // open chunks, copied under the lock
  std::vector<std::shared_ptr<const core_internal::ChunkWindow>> windows_;
  uint64_t chunk_bytes_ = 0;
  uint64_t label_count_ = 0;
  uint64_t sample_count_ = 0;
  int64_t mint_ = std::numeric_limits<int64_t>::min();
  int64_t maxt_ = std::numeric_limits<int64_t>::max();
};

}  // namespace keel::core

#endif  // KEEL_CORE_SERIES_SERIES_STORE_H_
