#include "core/series/internal/series_restorer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/series/labels.h"
#include "core/series/xor_chunk.h"

namespace keel::core::core_internal {
namespace {

// A first chunk array sized for more than this many chunks would be a
// bad hint's waste rather than a saving.
constexpr uint64_t kMaxExpectedChunks = 1024;

[[gnu::cold]] absl::Status BadChunk(uint64_t series, const ChunkData& chunk,
                                    const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("series ", series, ", chunk [",
                                                 chunk.min_time, ", ",
                                                 chunk.max_time, "]: ", what));
}

// The first sample whose timestamp is not after its predecessor's.
[[gnu::cold]] absl::Status NotAscending(uint64_t series,
                                        const ChunkData& chunk) {
  XorIterator it(chunk.bytes);
  int64_t previous = 0;
  for (uint32_t i = 0; it.Next(); ++i) {
    if (i > 0 && it.t() <= previous) {
      return BadChunk(
          series, chunk,
          absl::StrCat("timestamps: sample ", i, " at ", it.t(),
                       " is not after sample ", i - 1, " at ", previous));
    }
    previous = it.t();
  }
  return absl::InternalError("chunk timestamps: no sample out of order");
}

}  // namespace

absl::Status CheckChunkHeader(uint64_t series, const ChunkData& chunk) {
  if (chunk.encoding != kXorEncoding) [[unlikely]] {
    return BadChunk(series, chunk,
                    absl::StrCat("encoding ", chunk.encoding, " is not XOR (",
                                 kXorEncoding, ")"));
  }
  if (chunk.bytes.size() <= kXorHeaderBytes || chunk.bytes.size() > 65535)
      [[unlikely]] {
    return BadChunk(series, chunk,
                    absl::StrCat("byte length ", chunk.bytes.size(),
                                 " (must be 3..65535)"));
  }
  if (chunk.samples == 0 || XorSampleCount(chunk.bytes) != chunk.samples)
      [[unlikely]] {
    return BadChunk(
        series, chunk,
        absl::StrCat("sample count: the record says ", chunk.samples,
                     ", the chunk's header ", XorSampleCount(chunk.bytes)));
  }
  if (int64_t first = XorFirstTimestamp(chunk.bytes); first != chunk.min_time)
      [[unlikely]] {
    return BadChunk(series, chunk,
                    absl::StrCat("min_time: the first sample is at ", first));
  }
  return absl::OkStatus();
}

absl::Status CheckChunkContent(uint64_t series, const ChunkData& chunk) {
  if (absl::Status s = CheckChunkHeader(series, chunk); !s.ok()) [[unlikely]] {
    return s;
  }
  // Decoded in batches: Decode keeps the cursor in registers, and the
  // order check over a batch has no branch per sample.
  constexpr std::size_t kBatch = 128;
  int64_t t[kBatch];
  uint64_t value_bits[kBatch];
  XorIterator it(chunk.bytes);
  std::size_t n = it.Decode(t, value_bits, kBatch);
  if (n == 0) [[unlikely]] {
    return BadChunk(series, chunk,
                    absl::StrCat("bit stream: ", it.status().message()));
  }
  const int64_t first = t[0];
  bool ascending = true;
  int64_t last = t[n - 1];
  for (std::size_t i = 1; i < n; ++i) ascending &= t[i] > t[i - 1];
  while ((n = it.Decode(t, value_bits, kBatch)) > 0) {
    ascending &= t[0] > last;
    for (std::size_t i = 1; i < n; ++i) ascending &= t[i] > t[i - 1];
    last = t[n - 1];
  }
  if (!it.status().ok()) [[unlikely]] {
    return BadChunk(series, chunk,
                    absl::StrCat("bit stream: ", it.status().message()));
  }
  if (!ascending) [[unlikely]] {
    return NotAscending(series, chunk);
  }
  if (first != chunk.min_time) [[unlikely]] {  // a varint read past its end
    return BadChunk(series, chunk,
                    absl::StrCat("min_time: the first sample is at ", first));
  }
  if (last != chunk.max_time) [[unlikely]] {
    return BadChunk(series, chunk,
                    absl::StrCat("max_time: the last sample is at ", last));
  }
  return absl::OkStatus();
}

SeriesBulkRestore::SeriesBulkRestore(SeriesStoreImpl& store,
                                     const RestoreSizes& sizes)
    : store_(store) {
  store_.truncate_mu_.lock();
  store_.index_mu_.lock();
  for (auto& stripe : store_.stripes_) stripe.mu.Lock();
  if (store_.table_.size() != 0 || store_.index_.pair_count() != 0) {
    store_was_new_ = false;
    finished_ = true;
    Release();
    return;
  }
  store_.arena_.AdviseHugePages(true);  // off again in Finish
  if (sizes.series > 0) {
    uint64_t average = (sizes.chunks + sizes.series - 1) / sizes.series;
    expected_chunks_ = static_cast<uint32_t>(
        std::clamp<uint64_t>(average, 1, kMaxExpectedChunks));
  }
  store_.index_.Reserve(sizes.strings, sizes.series);
  symbols_.reserve(sizes.strings);
  checks_.reserve(sizes.strings);
  last_pair_.reserve(sizes.strings);
  last_time_.reserve(sizes.series);
}

SeriesBulkRestore::~SeriesBulkRestore() { Finish(); }

void SeriesBulkRestore::Release() {
  for (auto it = store_.stripes_.rbegin(); it != store_.stripes_.rend(); ++it) {
    it->mu.Unlock();
  }
  store_.index_mu_.unlock();
  store_.truncate_mu_.unlock();
}

void SeriesBulkRestore::AddString(std::string_view s) {
  if (finished_) return;
  std::string_view copy = store_.index_.CopyString(s);
  store_.index_.PrefetchSymbol(copy);
  if (pending_count_ == kAhead) InternPending();
  pending_[(pending_first_ + pending_count_) % kAhead] = copy;
  ++pending_count_;
}

void SeriesBulkRestore::InternPending() {
  uint32_t symbol = store_.index_.InternCopied(pending_[pending_first_]);
  pending_first_ = (pending_first_ + 1) % kAhead;
  --pending_count_;
  symbols_.push_back(symbol);
  if (symbol >= checks_.size()) {
    checks_.resize(symbol + 1);
    last_pair_.resize(symbol + 1);
  }
}

bool SeriesBulkRestore::NameOk(uint32_t symbol) {
  uint8_t& checks = checks_[symbol];
  if ((checks & kNameChecked) == 0) [[unlikely]] {
    std::string_view name = store_.index_.Symbol(symbol);
    checks |= kNameChecked;
    if (name.size() <= store_.options_.label_limits.max_name_bytes &&
        IsValidLabelName(name)) {
      checks |= kNameOk;
    }
    if (name == kMetricNameLabel) checks |= kMetricName;
  }
  return (checks & kNameOk) != 0;
}

bool SeriesBulkRestore::ValueOk(uint32_t symbol, bool metric) {
  uint8_t& checks = checks_[symbol];
  if ((checks & kValueChecked) == 0) [[unlikely]] {
    std::string_view value = store_.index_.Symbol(symbol);
    checks |= kValueChecked;
    if (!value.empty() &&
        value.size() <= store_.options_.label_limits.max_value_bytes &&
        IsValidUtf8(value)) {
      checks |= kValueOk;
    }
  }
  if ((checks & kValueOk) == 0) return false;
  if (!metric) return true;
  if ((checks & kMetricChecked) == 0) [[unlikely]] {
    checks |= kMetricChecked;
    if (IsValidMetricName(store_.index_.Symbol(symbol))) checks |= kMetricOk;
  }
  return (checks & kMetricOk) != 0;
}

absl::StatusOr<SeriesRef> SeriesBulkRestore::AddSeries(
    std::span<const RestoreLabel> labels) {
  if (finished_) return absl::FailedPreconditionError("restore finished");
  if (pending_count_ > 0) [[unlikely]] {
    InternAllPending();
  }
  if (labels.empty() ||
      labels.size() > store_.options_.label_limits.max_labels) {
    return AddSeriesSlow(labels);
  }
  SeriesIndex& index = store_.index_;
  pairs_.clear();
  std::string_view previous;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const RestoreLabel& l = labels[i];
    if (l.name >= symbols_.size() || l.value >= symbols_.size()) {
      return AddSeriesSlow(labels);
    }
    uint32_t name = symbols_[l.name];
    uint32_t value = symbols_[l.value];
    if (!NameOk(name) || !ValueOk(value, (checks_[name] & kMetricName) != 0)) {
      return AddSeriesSlow(labels);
    }
    std::string_view name_text = index.Symbol(name);
    if (i > 0 && !(previous < name_text)) return AddSeriesSlow(labels);
    previous = name_text;
    pairs_.push_back(Pair(name, value));
  }
  return Create();
}

absl::StatusOr<SeriesRef> SeriesBulkRestore::AddSeriesSlow(
    std::span<const RestoreLabel> labels) {
  Labels owned;
  owned.reserve(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const RestoreLabel& l = labels[i];
    if (l.name >= symbols_.size() || l.value >= symbols_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", i, ": string number ", std::max(l.name, l.value),
          " not added (", symbols_.size(), " strings)"));
    }
    owned.push_back({std::string(store_.index_.Symbol(symbols_[l.name])),
                     std::string(store_.index_.Symbol(symbols_[l.value]))});
  }
  if (absl::Status s = NormalizeLabels(owned, store_.options_.label_limits);
      !s.ok()) {
    return s;
  }
  pairs_.clear();
  for (const Label& l : owned) {
    // Every string is a symbol already.
    pairs_.push_back(Pair(*store_.index_.FindSymbol(l.name),
                          *store_.index_.FindSymbol(l.value)));
  }
  return Create();
}

// The store's pair map knows no pair this restore added (IndexPairs, at
// Finish, enters them), and the store had none before: last_pair_ and
// shared_values_ are the only record of which pairs exist.
uint32_t SeriesBulkRestore::OtherPair(uint32_t name, uint32_t value) {
  LastPair& last = last_pair_[value];
  uint32_t pair;
  if (last.name == LastPair().name) {
    pair = store_.index_.AddPairUnindexed(name, value);
  } else {
    auto key = [value](uint32_t n) { return uint64_t{n} << 32 | value; };
    shared_values_.try_emplace(key(last.name), last.pair);
    auto [it, added] = shared_values_.try_emplace(key(name), 0);
    if (added) it->second = store_.index_.AddPairUnindexed(name, value);
    pair = it->second;
  }
  last = {name, pair};
  return pair;
}

absl::StatusOr<SeriesRef> SeriesBulkRestore::Create() {
  SeriesRef ref = store_.table_.size();
  if (ref == UINT32_MAX) {
    return absl::ResourceExhaustedError("all 2^32-1 series refs are used");
  }
  if (!store_.index_.AddSeriesWithoutPostings(ref, pairs_)) return Exists();
  store_.table_.Add(Series(), ref);
  last_time_.push_back(INT64_MIN);
  return ref;
}

absl::Status SeriesBulkRestore::Exists() const {
  Labels labels;
  store_.index_.AppendLabels(pairs_, labels);
  return absl::AlreadyExistsError(
      absl::StrCat("series ", LabelsToString(labels), " exists already"));
}

absl::Status SeriesBulkRestore::AddChunk(SeriesRef ref,
                                         const ChunkData& chunk) {
  if (finished_) return absl::FailedPreconditionError("restore finished");
  // Chunks come window by window: inside the current window's bounds the
  // chunk is in one window, not truncated, and needs no division to place.
  bool checked = chunk.min_time >= window_start_ &&
                 chunk.max_time <= window_last_ &&
                 SeriesStoreImpl::ChunkShapeOk(chunk);
  if (!checked) [[unlikely]] {
    if (absl::Status status = store_.CheckRestoredChunk(ref, chunk);
        !status.ok()) {
      return status;
    }
    int64_t w = store_.WindowOf(chunk.min_time);
    window_.reset();  // no window lock held while the window map's is taken
    window_.emplace(*store_.GetWindow(w));
    window_start_ = store_.WindowStart(w);
    window_last_ = store_.WindowLast(w);
  }
  Series* s = store_.table_.Find(ref);
  if (s == nullptr) return absl::NotFoundError(absl::StrCat("no series ", ref));
  if (chunk.min_time <= last_time_[ref]) {
    return store_.BadRestoredChunk(ref, chunk, /*overlaps=*/true);
  }
  const uint8_t* data = store_.StoreRestoredBytes(*window_, chunk.bytes);
  PushSealed(*s, SealedChunk::Make(data, chunk.bytes.size(),
                                   static_cast<uint64_t>(chunk.max_time) -
                                       static_cast<uint64_t>(chunk.min_time)));
  store_.CountRestored(store_.StripeOf(ref), chunk);
  last_time_[ref] = chunk.max_time;
  return absl::OkStatus();
}

// While restoring, a series' array holds SealedBytes(max(count,
// expected_chunks_)); Finish trims it to SealedBytes(count), the store's
// invariant. From expected_chunks_ on, the two agree, and the store's own
// PushSealed grows it.
void SeriesBulkRestore::PushSealed(Series& s, SealedChunk chunk) {
  if (s.sealed_count >= expected_chunks_) {
    store_.PushSealed(s, chunk);
    return;
  }
  if (s.sealed_count == 0) {
    s.sealed = static_cast<SealedChunk*>(
        store_.arena_.Allocate(SealedBytes(expected_chunks_)));
  }
  s.sealed[s.sealed_count++] = chunk;
}

void SeriesBulkRestore::Finish() {
  if (finished_) return;
  finished_ = true;
  InternAllPending();
  store_.index_.IndexPairs(0);
  store_.index_.AddPostings(0);
  const std::size_t full = SealedBytes(expected_chunks_);
  for (SeriesRef ref = 0; ref < store_.table_.size(); ++ref) {
    Series& s = *store_.table_.Find(ref);
    if (s.sealed_count == 0 || s.sealed_count >= expected_chunks_) continue;
    std::size_t want = SealedBytes(s.sealed_count);
    if (want != full) {
      s.sealed =
          static_cast<SealedChunk*>(store_.arena_.Reallocate(s.sealed, want));
    }
  }
  // The scratch goes before the store is handed back.
  std::vector<uint32_t>().swap(symbols_);
  std::vector<uint8_t>().swap(checks_);
  std::vector<LastPair>().swap(last_pair_);
  absl::flat_hash_map<uint64_t, uint32_t>().swap(shared_values_);
  std::vector<int64_t>().swap(last_time_);
  window_.reset();
  store_.arena_.AdviseHugePages(false);
  Release();
}

}  // namespace keel::core::core_internal
