#include "core/series/series_store.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/series/internal/series_restorer.h"
#include "core/series/internal/series_store_impl.h"

namespace keel::core {

namespace {

// The options themselves, once checked: a store never runs on values other
// than the ones given.
const SeriesStoreOptions& CheckedOrDie(const SeriesStoreOptions& options) {
  if (absl::Status s = SeriesStore::CheckOptions(options); !s.ok()) {
    std::fprintf(stderr, "keel: SeriesStore given bad options: %s\n",
                 std::string(s.message()).c_str());
    std::abort();
  }
  return options;
}

}  // namespace

SeriesStore::SeriesStore(SeriesStoreOptions options)
    : impl_(std::make_unique<core_internal::SeriesStoreImpl>(
          CheckedOrDie(options))) {}

SeriesStore::~SeriesStore() = default;

absl::Status SeriesStore::CheckOptions(const SeriesStoreOptions& o) {
  if (o.chunk_window_ms < 1 || o.chunk_window_ms > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk window ", o.chunk_window_ms, " ms is outside 1..", INT32_MAX));
  }
  if (o.retention_windows < 1) {
    return absl::InvalidArgumentError("retention must keep at least 1 window");
  }
  if (o.max_chunk_samples < 1 || o.max_chunk_samples > kXorMaxSamples) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_chunk_samples ", o.max_chunk_samples,
                     " is outside 1..", kXorMaxSamples));
  }
  if (o.max_chunk_bytes < 16 || o.max_chunk_bytes > 32768) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_chunk_bytes ", o.max_chunk_bytes, " is outside 16..32768"));
  }
  // A head chunk must hold the chunk header and one append's worst case.
  constexpr std::size_t kMinHead = kXorHeaderBytes + kXorAppendReserve;
  if (o.head_first_capacity < kMinHead || o.head_first_capacity > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("head_first_capacity ", o.head_first_capacity,
                     " is outside ", kMinHead, "..4096"));
  }
  if (!(o.head_min_growth >= 0)) {  // NaN too
    return absl::InvalidArgumentError(
        absl::StrCat("head_min_growth ", o.head_min_growth, " must be >= 0"));
  }
  if (o.label_limits.max_labels > 255) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_labels ", o.label_limits.max_labels, " is outside 0..255"));
  }
  if (o.arena_name == nullptr) {
    return absl::InvalidArgumentError("arena_name must not be null");
  }
  return absl::OkStatus();
}

absl::StatusOr<SeriesRef> SeriesStore::GetOrCreate(Labels labels) {
  return impl_->GetOrCreate(std::move(labels), /*must_be_new=*/false);
}

absl::StatusOr<std::optional<SeriesRef>> SeriesStore::GetOrCreateIf(
    Labels labels, absl::FunctionRef<bool()> admit_new) {
  return impl_->GetOrCreateIf(std::move(labels), admit_new);
}

AppendResult SeriesStore::Append(SeriesRef ref, int64_t t, double v) {
  return impl_->Append(ref, t, v);
}

absl::StatusOr<std::optional<SeriesRef>> SeriesStore::Find(
    Labels labels) const {
  return impl_->Find(std::move(labels));
}

absl::StatusOr<AppendResult> SeriesStore::Append(Labels labels, int64_t t,
                                                 double v) {
  // Refused before the lookup, so that no series is created for it (a live
  // series' last sample is never before the floor, so for an existing
  // series this is kOutOfOrder told more precisely).
  if (t < impl_->OldestAppendable()) {
    impl_->CountTooOld();
    return AppendResult::kTooOld;
  }
  // A Truncate may drop the series between lookup and append: look again.
  for (int attempt = 0;; ++attempt) {
    auto ref = impl_->GetOrCreate(labels, /*must_be_new=*/false);
    if (!ref.ok()) return ref.status();
    AppendResult result = impl_->Append(*ref, t, v);
    if (result != AppendResult::kUnknownSeries || attempt == 3) return result;
  }
}

std::size_t SeriesStore::AppendBatch(std::span<const RefSample> samples,
                                     std::span<AppendResult> results) {
  return impl_->AppendBatch(samples, results);
}

SeriesSet SeriesStore::Select(std::span<const Matcher> matchers, int64_t mint,
                              int64_t maxt) const {
  QueryContext unbounded(QueryLimits::Unbounded());
  return impl_->Select(matchers, mint, maxt, unbounded);
}

absl::StatusOr<SeriesSet> SeriesStore::Select(std::span<const Matcher> matchers,
                                              int64_t mint, int64_t maxt,
                                              QueryContext& context) const {
  SeriesSet set = impl_->Select(matchers, mint, maxt, context);
  if (!context.ok()) return context.status();
  return set;
}

SeriesSet SeriesStore::Cut() const {
  QueryContext unbounded(QueryLimits::Unbounded());
  return impl_->Select({}, std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max(), unbounded);
}

absl::StatusOr<SeriesRef> SeriesStore::RestoreSeries(Labels labels) {
  return impl_->GetOrCreate(std::move(labels), /*must_be_new=*/true);
}

absl::Status SeriesStore::RestoreChunk(SeriesRef ref, const ChunkData& chunk) {
  return impl_->RestoreChunk(ref, chunk);
}

absl::StatusOr<SeriesRestorer> SeriesStore::BeginRestore(
    const RestoreSizes& sizes) {
  auto bulk = std::make_unique<core_internal::SeriesBulkRestore>(*impl_, sizes);
  if (!bulk->store_was_new()) {
    return absl::FailedPreconditionError(
        "a bulk restore needs a new store, without series");
  }
  return SeriesRestorer(std::move(bulk));
}

SeriesRestorer::SeriesRestorer(
    std::unique_ptr<core_internal::SeriesBulkRestore> impl)
    : impl_(std::move(impl)) {}
SeriesRestorer::SeriesRestorer(SeriesRestorer&&) noexcept = default;
SeriesRestorer& SeriesRestorer::operator=(SeriesRestorer&&) noexcept = default;
SeriesRestorer::~SeriesRestorer() = default;

void SeriesRestorer::AddString(std::string_view s) { impl_->AddString(s); }

absl::StatusOr<SeriesRef> SeriesRestorer::AddSeries(
    std::span<const RestoreLabel> labels) {
  return impl_->AddSeries(labels);
}

absl::Status SeriesRestorer::AddChunk(SeriesRef ref, const ChunkData& chunk) {
  return impl_->AddChunk(ref, chunk);
}

absl::Status SeriesRestorer::AddFrame(std::span<const uint8_t> frame,
                                      uint32_t group_bytes) {
  return impl_->AddFrame(frame, group_bytes);
}

absl::Status SeriesRestorer::AddSealedEntry(
    SeriesRef ref, uint32_t frame,
    const core_internal::SealedEntryInfo& entry) {
  return impl_->AddSealedEntry(ref, frame, entry);
}

void SeriesRestorer::Finish() { impl_->Finish(); }

std::size_t SeriesStore::Truncate(int64_t before) {
  return impl_->Truncate(before).series;
}

TruncateResult SeriesStore::ApplyRetention(int64_t now_ms) {
  return impl_->ApplyRetention(now_ms);
}

int64_t SeriesStore::OldestAppendable() const {
  return impl_->OldestAppendable();
}

SeriesStoreStats SeriesStore::Stats() const { return impl_->Stats(); }

const SeriesStoreOptions& SeriesStore::options() const {
  return impl_->options();
}

alloc::Arena& SeriesStore::arena() const { return impl_->arena(); }

void SeriesStore::SetMemoryPressure(bool high) {
  impl_->defrag().SetPressure(high);
}

bool SeriesStore::memory_pressure() const { return impl_->defrag().pressure(); }

void SeriesStore::Defragment() { impl_->defrag().RunPass(); }

alloc::DefragStats SeriesStore::defrag_stats() const {
  return impl_->defrag().stats();
}

int64_t SeriesStore::WindowOf(int64_t t) const { return impl_->WindowOf(t); }

std::size_t SeriesStore::SealWindows(int64_t now_ms) {
  return impl_->SealWindows(now_ms, [] { return false; });
}

std::size_t SeriesStore::SealWindows(int64_t now_ms,
                                     absl::FunctionRef<bool()> stop) {
  return impl_->SealWindows(now_ms, stop);
}

SeriesStore::SealedStats SeriesStore::GetSealedStats() const {
  return impl_->GetSealedStats();
}

void ReturnThreadSampleCache() { core_internal::ReturnSealedDecodeCache(); }

SampleIterator::SampleIterator(std::span<const ChunkData> chunks, int64_t mint,
                               int64_t maxt)
    : chunks_(chunks), mint_(mint), maxt_(maxt) {}

bool SampleIterator::Advance() {
  while (!done_) {
    std::size_t n = in_sealed_ ? sealed_.Decode(t_, bits_, kBlock)
                               : chunk_.Decode(t_, bits_, kBlock);
    if (n == 0) {
      if (next_chunk_ >= chunks_.size()) break;
      const ChunkData& c = chunks_[next_chunk_++];
      if (c.max_time < mint_) continue;
      if (c.min_time > maxt_) break;
      in_sealed_ = c.encoding == kSealedEncoding;
      if (in_sealed_) {
        // A frame that does not decode leaves the decoder empty: the
        // store checked every frame when it sealed it.
        (void)sealed_.Open(c.bytes.data());
      } else {
        chunk_ = XorIterator(c.bytes);
      }
      continue;
    }
    // Keep [mint, maxt] of the block; past maxt nothing more is wanted.
    uint32_t begin = 0;
    if (t_[0] < mint_) {
      begin = static_cast<uint32_t>(std::lower_bound(t_, t_ + n, mint_) - t_);
    }
    auto end = static_cast<uint32_t>(n);
    if (t_[n - 1] > maxt_) {
      end = static_cast<uint32_t>(std::upper_bound(t_, t_ + n, maxt_) - t_);
      done_ = true;
    }
    if (begin < end) {
      pos_ = begin;
      end_ = end;
      return true;
    }
  }
  done_ = true;
  pos_ = end_ = 0;
  return false;
}

SeriesSet::SeriesSet(SeriesSet&&) noexcept = default;
SeriesSet& SeriesSet::operator=(SeriesSet&&) noexcept = default;
SeriesSet::~SeriesSet() = default;

}  // namespace keel::core
