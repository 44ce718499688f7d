#include "snapshot/reader.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/series/internal/series_restorer.h"
#include "core/series/labels.h"
#include "snapshot/internal/format.h"
#include "snapshot/internal/record_parser.h"
#include "snapshot/internal/scratch_arena.h"

namespace keel::snapshot {
namespace {

using snapshot_internal::ChunkRecord;
using snapshot_internal::LabelRef;

SnapshotInfo InfoOf(const snapshot_internal::ParseSummary& s) {
  SnapshotInfo info;
  info.version = s.header.version;
  info.random_order =
      (s.header.flags & snapshot_internal::kFlagRandomOrder) != 0;
  info.created_unix_ms = s.header.created_unix_ms;
  info.file_bytes = s.header.file_bytes;
  info.strings = s.header.string_count;
  info.series = s.header.series_count;
  info.chunks = s.header.chunk_count;
  info.samples = s.footer.sample_count;
  info.chunk_data_bytes = s.footer.chunk_bytes;
  info.min_time = s.footer.min_time;
  info.max_time = s.footer.max_time;
  info.blocks = s.data_blocks;
  info.largest_block = s.header.largest_block_payload;
  info.header_section_bytes = snapshot_internal::kHeaderBytes;
  info.string_section_bytes = s.string_bytes;
  info.series_section_bytes = s.series_bytes;
  info.chunk_section_bytes = s.chunk_bytes;
  info.frame_section_bytes = s.frame_bytes;
  info.frames = s.frames;
  info.sealed_chunks = s.sealed_chunks;
  info.footer_section_bytes = s.footer_bytes;
  return info;
}

core::ChunkData DataOf(const ChunkRecord& c) {
  core::ChunkData data;
  data.min_time = c.min_time;
  data.max_time = c.max_time;
  data.samples = static_cast<uint16_t>(c.sample_count);
  data.encoding = c.encoding;
  data.bytes = c.bytes;
  return data;
}

// What a visitor returns to stop the parse once the ChunkChecker failed;
// the checker's error, earlier in the file, is the one reported.
absl::Status Stopped() {
  return absl::AbortedError("stopped: an earlier chunk failed its check");
}

// What can be checked of a chunk record at once, before its bytes are
// decoded beside the parse (ChunkChecker).
absl::Status CheckChunk(const ChunkRecord& c) {
  if (c.sample_count > std::numeric_limits<uint16_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sample count ", c.sample_count, " exceeds a chunk's 65535"));
  }
  return core::core_internal::CheckChunkHeader(c.series, DataOf(c));
}

// Runs core_internal::CheckChunkContent over every chunk of a verify or a
// restore on worker threads, beside the parse: decoding every sample costs
// more than parsing and restoring a chunk does. Chunks are copied
// into batches of about kBatchBytes; at most two batches per worker wait, so
// memory stays bounded. The error kept is the first chunk's in file order,
// which precedes any error the parse itself stops at (the parse hands over
// only records it accepted).
class ChunkChecker {
 public:
  explicit ChunkChecker(std::string path) : path_(std::move(path)) {
    unsigned n = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    max_queued_ = 2 * n;
    for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ChunkChecker() { Stop(); }
  ChunkChecker(const ChunkChecker&) = delete;
  ChunkChecker& operator=(const ChunkChecker&) = delete;

  // REQUIRES: CheckChunk(c) is OK.
  void Add(const ChunkRecord& c) {
    Item item;
    item.offset = c.offset;
    item.number = c.number;
    item.series = c.series;
    item.data = DataOf(c);
    item.begin = open_.bytes.size();
    open_.bytes.insert(open_.bytes.end(), c.bytes.begin(), c.bytes.end());
    open_.items.push_back(item);
    if (open_.bytes.size() >= kBatchBytes) Submit();
  }
  // Whether a chunk failed already: the parse may stop early.
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Checks what is left and returns the first failure, DataLoss naming the
  // path, the offset and the chunk, as the parser's own errors do.
  absl::Status Finish() {
    Submit();
    Stop();
    return error_;
  }

 private:
  static constexpr std::size_t kBatchBytes = 256 << 10;
  struct Item {
    uint64_t offset;
    uint64_t number;
    uint32_t series;
    std::size_t begin;  // of its bytes in the batch
    core::ChunkData data;
  };
  struct Batch {
    std::vector<Item> items;
    std::vector<uint8_t> bytes;
  };

  void Submit() {
    if (open_.items.empty()) return;
    std::unique_lock lock(mu_);
    room_.wait(lock, [this] { return queue_.size() < max_queued_; });
    queue_.push_back(std::move(open_));
    open_ = Batch();
    if (!spare_.empty()) {
      open_ = std::move(spare_.back());
      spare_.pop_back();
    }
    ready_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  void Work() {
    Batch batch;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (batch.items.capacity() != 0) {  // checked: its buffers go back
          batch.items.clear();
          batch.bytes.clear();
          spare_.push_back(std::move(batch));
          batch = Batch();
        }
        ready_.wait(lock, [this] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        batch = std::move(queue_.front());
        queue_.pop_front();
      }
      room_.notify_one();
      for (Item& item : batch.items) {
        item.data.bytes = {batch.bytes.data() + item.begin,
                           item.data.bytes.size()};
        absl::Status s =
            core::core_internal::CheckChunkContent(item.series, item.data);
        if (!s.ok()) [[unlikely]] {
          Record(item, s);
          break;  // later chunks of the batch cannot come first
        }
      }
    }
  }

  [[gnu::cold]] void Record(const Item& item, const absl::Status& s) {
    std::lock_guard lock(mu_);
    if (failed_.load(std::memory_order_relaxed) &&
        error_number_ < item.number) {
      return;
    }
    error_number_ = item.number;
    error_ = absl::DataLossError(absl::StrCat(path_, ": offset ", item.offset,
                                              ": chunk ", item.number, ": ",
                                              s.message()));
    failed_.store(true, std::memory_order_relaxed);
  }

  const std::string path_;
  std::size_t max_queued_ = 0;
  Batch open_;  // filled by the parsing thread
  std::mutex mu_;
  std::condition_variable ready_;  // a batch queued, or done
  std::condition_variable room_;   // a batch taken
  std::deque<Batch> queue_;
  // Checked batches, their buffers kept for the parse to fill again: a
  // restore reuses a few MB instead of allocating 1 MiB a batch.
  std::vector<Batch> spare_;
  bool done_ = false;
  std::atomic<bool> failed_{false};
  uint64_t error_number_ = 0;
  absl::Status error_;
  std::vector<std::thread> workers_;
};

// Makes, without a store, the checks of the records that a restore leaves
// to the store: a series' labels are what NormalizeLabels accepts (with the
// store's limits) and name no series twice once normalised, as
// SeriesBulkRestore::AddSeries requires; each chunk passes
// core_internal::CheckChunkContent, the function SeriesBulkRestore::AddChunk
// calls. (Chunk windows depend on the restoring store's --chunk-window, so
// only a restore checks them.) Keeps each distinct string once and the
// normalised label pairs of every series, as string ids.
class Verifier : public snapshot_internal::RecordVisitor {
 public:
  Verifier(const core::LabelLimits& limits, ChunkChecker& checker)
      : limits_(limits),
        checker_(checker),
        series_set_(0, SeriesHash{this}, SeriesEq{this}) {}

  absl::Status OnHeader(const snapshot_internal::Header&) override {
    return absl::OkStatus();
  }

  absl::Status OnString(uint32_t, std::string_view s) override {
    auto it = ids_.find(s);
    if (it == ids_.end()) {
      // The key views the copy, which the deque never moves.
      texts_.emplace_back(s);
      it = ids_.emplace(texts_.back(), texts_.size() - 1).first;
    }
    id_of_.push_back(it->second);
    return absl::OkStatus();
  }

  absl::Status OnSeries(uint32_t series,
                        std::span<const LabelRef> labels) override {
    const std::size_t begin = pairs_.size();
    if (!AppendIfNormal(labels)) {
      pairs_.resize(begin);
      if (absl::Status s = AppendNormalized(labels); !s.ok()) return s;
    }
    series_end_.push_back(pairs_.size());
    if (!series_set_.insert(series).second) {
      core::Labels text;
      for (std::size_t i = begin; i < pairs_.size(); i += 2) {
        text.push_back({texts_[pairs_[i]], texts_[pairs_[i + 1]]});
      }
      return absl::AlreadyExistsError(absl::StrCat(
          "series ", core::LabelsToString(text), " exists already"));
    }
    return absl::OkStatus();
  }

  absl::Status OnChunk(const ChunkRecord& c) override {
    if (c.entry != nullptr) return absl::OkStatus();  // checked with its frame
    if (absl::Status s = CheckChunk(c); !s.ok()) return s;
    if (checker_.failed()) return Stopped();
    checker_.Add(c);
    return absl::OkStatus();
  }

 private:
  // Series s's pairs (name id, value id, ...).
  std::span<const uint32_t> PairsOf(uint32_t s) const {
    std::size_t begin = s == 0 ? 0 : series_end_[s - 1];
    return {pairs_.data() + begin, series_end_[s] - begin};
  }
  struct SeriesHash {
    const Verifier* v;
    std::size_t operator()(uint32_t s) const {
      std::span<const uint32_t> p = v->PairsOf(s);
      return absl::Hash<absl::Span<const uint32_t>>()(
          absl::MakeConstSpan(p.data(), p.size()));
    }
  };
  struct SeriesEq {
    const Verifier* v;
    bool operator()(uint32_t a, uint32_t b) const {
      std::span<const uint32_t> x = v->PairsOf(a);
      std::span<const uint32_t> y = v->PairsOf(b);
      return std::equal(x.begin(), x.end(), y.begin(), y.end());
    }
  };

  // Appends the pairs when the labels are already as NormalizeLabels leaves
  // them (sorted by name, non-empty values) and break no rule: the common
  // case, without copying a string.
  bool AppendIfNormal(std::span<const LabelRef> labels) {
    if (labels.empty() || labels.size() > limits_.max_labels) return false;
    std::string_view previous;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      std::string_view name = texts_[id_of_[labels[i].name]];
      std::string_view value = texts_[id_of_[labels[i].value]];
      if ((i > 0 && !(previous < name)) ||
          name.size() > limits_.max_name_bytes ||
          !core::IsValidLabelName(name) || value.empty() ||
          value.size() > limits_.max_value_bytes || !core::IsValidUtf8(value) ||
          (name == core::kMetricNameLabel && !core::IsValidMetricName(value))) {
        return false;
      }
      previous = name;
      pairs_.push_back(id_of_[labels[i].name]);
      pairs_.push_back(id_of_[labels[i].value]);
    }
    return true;
  }

  absl::Status AppendNormalized(std::span<const LabelRef> labels) {
    core::Labels owned;
    owned.reserve(labels.size());
    for (const LabelRef& l : labels) {
      owned.push_back({texts_[id_of_[l.name]], texts_[id_of_[l.value]]});
    }
    if (absl::Status s = core::NormalizeLabels(owned, limits_); !s.ok()) {
      return s;
    }
    for (const core::Label& l : owned) {
      pairs_.push_back(ids_.find(l.name)->second);
      pairs_.push_back(ids_.find(l.value)->second);
    }
    return absl::OkStatus();
  }

  const core::LabelLimits limits_;
  ChunkChecker& checker_;
  std::deque<std::string> texts_;  // each distinct string once
  absl::flat_hash_map<std::string_view, uint32_t> ids_;  // text -> index
  std::vector<uint32_t> id_of_;  // string number -> index in texts_
  std::vector<uint32_t> pairs_;  // every series' normalised pairs
  std::vector<std::size_t> series_end_;
  absl::flat_hash_set<uint32_t, SeriesHash, SeriesEq> series_set_;
};

// Calls a RestoreProgressOptions callback every interval, checking the
// clock once every kRecords records.
class ProgressReporter {
 public:
  using Clock = std::chrono::steady_clock;
  ProgressReporter(const RestoreProgressOptions& options,
                   Clock::time_point start)
      : options_(options), start_(start), last_(start) {}

  RestoreProgress& progress() { return progress_; }

  // A record was restored.
  void Count() {
    if (!options_.callback || ++records_ % kRecords != 0) return;
    Clock::time_point now = Clock::now();
    if (std::chrono::duration<double>(now - last_).count() <
        options_.interval_seconds) {
      return;
    }
    last_ = now;
    progress_.seconds = std::chrono::duration<double>(now - start_).count();
    options_.callback(progress_);
  }

 private:
  static constexpr uint64_t kRecords = 1024;
  const RestoreProgressOptions& options_;
  const Clock::time_point start_;
  Clock::time_point last_;
  uint64_t records_ = 0;
  RestoreProgress progress_;
};

// Feeds the records into a fresh store through its bulk restore.
class Restorer : public snapshot_internal::RecordVisitor {
 public:
  Restorer(core::SeriesStore& store, ChunkChecker& checker,
           ProgressReporter& reporter)
      : store_(store), checker_(checker), reporter_(reporter) {}

  absl::Status OnHeader(const snapshot_internal::Header& h) override {
    RestoreProgress& p = reporter_.progress();
    p.file_bytes = h.file_bytes;
    p.series_total = h.series_count;
    p.chunks_total = h.chunk_count;
    // The header's counts are checked against the records only at the end:
    // bound the sizes they reserve by what a file this long can hold.
    uint64_t bytes = h.file_bytes;
    core::RestoreSizes sizes;
    sizes.strings = std::min<uint64_t>(h.string_count, bytes / 4);
    sizes.series = h.SeriesBound();
    sizes.chunks = std::min<uint64_t>(
        h.chunk_count, bytes / (snapshot_internal::kChunkRecordFixedBytes + 3));
    absl::StatusOr<core::SeriesRestorer> restorer = store_.BeginRestore(sizes);
    if (!restorer.ok()) return restorer.status();
    restorer_.emplace(std::move(*restorer));
    refs_.reserve(sizes.series);
    return absl::OkStatus();
  }

  absl::Status OnString(uint32_t, std::string_view s) override {
    restorer_->AddString(s);
    reporter_.Count();
    return absl::OkStatus();
  }

  absl::Status OnSeries(uint32_t series,
                        std::span<const LabelRef> labels) override {
    absl::StatusOr<core::SeriesRef> ref = restorer_->AddSeries(labels);
    if (!ref.ok()) return ref.status();
    if (series != refs_.size()) {
      return absl::InternalError("series numbers out of sequence");
    }
    refs_.push_back(*ref);
    reporter_.progress().series = refs_.size();
    reporter_.Count();
    return absl::OkStatus();
  }

  absl::Status OnFrame(uint32_t, uint32_t group_bytes,
                       std::span<const uint8_t> bytes) override {
    return restorer_->AddFrame(bytes, group_bytes);
  }
  absl::Status OnChunk(const ChunkRecord& c) override {
    if (c.entry != nullptr) {  // checked with its frame
      if (absl::Status s =
              restorer_->AddSealedEntry(refs_[c.series], c.frame, *c.entry);
          !s.ok()) {
        return s;
      }
    } else {
      if (absl::Status s = CheckChunk(c); !s.ok()) return s;
      if (checker_.failed()) return Stopped();
      if (absl::Status s = restorer_->AddChunk(refs_[c.series], DataOf(c));
          !s.ok()) {
        return s;
      }
      checker_.Add(c);
    }
    RestoreProgress& p = reporter_.progress();
    p.bytes_read = c.offset;
    ++p.chunks;
    reporter_.Count();
    return absl::OkStatus();
  }

  // Builds what the restore defers and hands the store back.
  void Finish() {
    if (restorer_.has_value()) restorer_->Finish();
  }

 private:
  core::SeriesStore& store_;
  ChunkChecker& checker_;
  ProgressReporter& reporter_;
  std::optional<core::SeriesRestorer> restorer_;
  std::vector<core::SeriesRef> refs_;
};

}  // namespace

absl::StatusOr<SnapshotInfo> VerifySnapshot(const std::string& path,
                                            const core::LabelLimits& limits) {
  snapshot_internal::ScratchArena scratch;
  ChunkChecker checker(path);
  Verifier verifier(limits, checker);
  absl::StatusOr<snapshot_internal::ParseSummary> summary =
      snapshot_internal::ParseSnapshot(path, &verifier);
  if (absl::Status s = checker.Finish(); !s.ok()) return s;
  if (!summary.ok()) return summary.status();
  return InfoOf(*summary);
}

absl::StatusOr<std::unique_ptr<core::SeriesStore>> RestoreSnapshot(
    const std::string& path, const core::SeriesStoreOptions& options,
    RestoreStats* stats, const RestoreProgressOptions& progress) {
  auto start = std::chrono::steady_clock::now();
  auto store = std::make_unique<core::SeriesStore>(options);
  snapshot_internal::ScratchArena scratch;
  ChunkChecker checker(path);
  ProgressReporter reporter(progress, start);
  Restorer restorer(*store, checker, reporter);
  absl::StatusOr<snapshot_internal::ParseSummary> summary =
      snapshot_internal::ParseSnapshot(path, &restorer);
  if (absl::Status s = checker.Finish(); !s.ok()) return s;
  if (!summary.ok()) return summary.status();
  restorer.Finish();
  if (stats != nullptr) {
    stats->info = InfoOf(*summary);
    stats->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
  return store;
}

}  // namespace keel::snapshot
