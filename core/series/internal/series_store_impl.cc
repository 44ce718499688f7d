#include "core/series/internal/series_store_impl.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "alloc/stats.h"

namespace keel::core::core_internal {
namespace {

uint64_t LastValueBits(const SealedChunk& chunk) {
  uint64_t bits = 0;
  if (chunk.compact()) {
    SealedDecoder decoder;
    int64_t t[128];
    uint64_t values[128];
    if (decoder.Open(chunk.data()).ok()) {
      while (std::size_t n = decoder.Decode(t, values, 128)) {
        bits = values[n - 1];
      }
    }
    return bits;
  }
  XorIterator it(chunk.view());
  while (it.Next()) bits = it.value_bits();
  return bits;
}

}  // namespace

SeriesStoreImpl::SeriesStoreImpl(const SeriesStoreOptions& options)
    : options_(options),
      window_(options_.chunk_window_ms),
      arena_(options_.arena_name, {.huge_pages = options_.huge_pages}),
      growth_(options_.head_first_capacity, options_.head_min_growth),
      memory_(options_.chunk_memory, arena_),
      purge_(arena_, options_.purge_threshold_bytes),
      table_(arena_),
      index_(arena_),
      defrag_(std::make_unique<SeriesDefrag>(*this, options_.defrag)) {
  arena_.AdviseHugePages(false);  // a bulk restore asks for them
}

SeriesStoreImpl::~SeriesStoreImpl() {
  defrag_.reset();  // its runner walks what the rest of this frees
  for (SeriesRef ref = 0; ref < table_.size(); ++ref) {
    Series& s = *table_.Find(ref);
    if (s.head != nullptr) memory_.Free(s.head, s.head_capacity);
    if (s.sealed != nullptr)
      arena_.Deallocate(s.sealed, SealedBytes(s.sealed_count));
  }
  std::lock_guard lock(windows_mu_);
  windows_.clear();
}

int64_t SeriesStoreImpl::WindowStart(int64_t w) const {
  __int128 start = static_cast<__int128>(w) * window_;
  return start < INT64_MIN   ? INT64_MIN
         : start > INT64_MAX ? INT64_MAX
                             : static_cast<int64_t>(start);
}

int64_t SeriesStoreImpl::WindowLast(int64_t w) const {
  __int128 last = static_cast<__int128>(w) * window_ + window_ - 1;
  return last > INT64_MAX ? INT64_MAX : static_cast<int64_t>(last);
}

absl::StatusOr<SeriesRef> SeriesStoreImpl::GetOrCreate(Labels labels,
                                                       bool must_be_new) {
  absl::StatusOr<std::optional<SeriesRef>> ref =
      GetOrCreate(std::move(labels), must_be_new, [] { return true; });
  if (!ref.ok()) return ref.status();
  return **ref;
}

absl::StatusOr<std::optional<SeriesRef>> SeriesStoreImpl::GetOrCreateIf(
    Labels labels, absl::FunctionRef<bool()> admit_new) {
  return GetOrCreate(std::move(labels), /*must_be_new=*/false, admit_new);
}

absl::StatusOr<std::optional<SeriesRef>> SeriesStoreImpl::GetOrCreate(
    Labels labels, bool must_be_new, absl::FunctionRef<bool()> admit_new) {
  if (auto s = NormalizeLabels(labels, options_.label_limits); !s.ok()) {
    return s;
  }
  std::vector<uint32_t> pairs;
  pairs.reserve(labels.size());
  if (!must_be_new) {
    std::shared_lock lock(index_mu_);
    if (index_.FindPairs(labels, pairs)) {
      if (auto ref = index_.FindSeries(pairs)) return ref;
    }
  }
  std::lock_guard lock(index_mu_);
  // Looked up again under the writer's lock, and interned only once the
  // series is sure to be created: a refused one must not leave strings and
  // pairs behind that no series names (nothing would free them).
  if (index_.FindPairs(labels, pairs)) {
    if (auto ref = index_.FindSeries(pairs)) {
      if (!must_be_new) return ref;
      return absl::AlreadyExistsError(
          absl::StrCat("series ", LabelsToString(labels), " exists already"));
    }
  }
  if (!must_be_new && options_.max_series != 0 &&
      table_.size() - dead_series_ >= options_.max_series) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the store holds its limit of ", options_.max_series,
        " series (max_series); ", LabelsToString(labels), " is not created"));
  }
  if (!admit_new()) return std::nullopt;
  index_.InternPairs(labels, pairs);
  SeriesRef ref;
  if (!table_.Add(Series(), ref)) {
    return absl::ResourceExhaustedError("all 2^32-1 series refs are used");
  }
  index_.AddSeries(ref, pairs);
  return ref;
}

absl::StatusOr<std::optional<SeriesRef>> SeriesStoreImpl::Find(
    Labels labels) const {
  if (auto s = NormalizeLabels(labels, options_.label_limits); !s.ok()) {
    return s;
  }
  std::vector<uint32_t> pairs;
  pairs.reserve(labels.size());
  std::shared_lock lock(index_mu_);
  if (index_.FindPairs(labels, pairs)) {
    return index_.FindSeries(pairs);
  }
  return std::nullopt;
}

AppendResult SeriesStoreImpl::Append(SeriesRef ref, int64_t t, double v) {
  Stripe& stripe = StripeOf(ref);
  StripeGuard lock(stripe.mu);
  // Under the lock: a dropped series' record is reused (SeriesTable).
  Series* s = table_.Find(ref);
  if (s == nullptr) return AppendResult::kUnknownSeries;
  return AppendLocked(*s, stripe, t, v);
}

inline AppendResult SeriesStoreImpl::AppendLocked(Series& s, Stripe& stripe,
                                                  int64_t t, double v) {
  XorAppendState& h = s.head_state;
  if (s.head != nullptr && t > h.t && t <= s.head_last &&
      h.count < options_.max_chunk_samples &&
      h.bytes() < options_.max_chunk_bytes) [[likely]] {
    std::size_t before = h.bytes();
    if (before + kXorAppendReserve > s.head_capacity) GrowHead(s);
    XorAppend(s.head, h, t, v);
    stripe.live_bytes += h.bytes() - before;
    ++stripe.samples;
    ++stripe.appended;
    if (t > stripe.max_time) stripe.max_time = t;
    return AppendResult::kAppended;
  }
  return AppendSlow(s, stripe, t, v);
}

std::size_t SeriesStoreImpl::AppendBatch(std::span<const RefSample> samples,
                                         std::span<AppendResult> results) {
  // Group the batch by stripe (stable, so each series keeps its order) and
  // take each stripe's lock once for up to kHold samples: a locked
  // instruction per sample would wait for the previous sample's stores to
  // reach the cache. Within a group, prefetch records kRecordAhead samples
  // ahead and, once a record is in cache, the head chunk lines kHeadAhead
  // ahead.
  constexpr std::size_t kHold = 512;
  constexpr std::size_t kRecordAhead = 16;
  constexpr std::size_t kHeadAhead = 8;
  thread_local std::vector<uint32_t> order_buffer;
  std::vector<uint32_t>& order = order_buffer;
  std::array<uint32_t, kStripes + 1> begin{};
  for (const RefSample& s : samples) ++begin[StripeIndex(s.ref) + 1];
  for (unsigned i = 0; i < kStripes; ++i) begin[i + 1] += begin[i];
  order.resize(samples.size());
  std::array<uint32_t, kStripes> next;
  std::copy(begin.begin(), begin.end() - 1, next.begin());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    order[next[StripeIndex(samples[i].ref)]++] = static_cast<uint32_t>(i);
  }
  std::size_t appended = 0;
  for (unsigned stripe_index = 0; stripe_index < kStripes; ++stripe_index) {
    Stripe& stripe = stripes_[stripe_index];
    for (uint32_t from = begin[stripe_index]; from < begin[stripe_index + 1];
         from += kHold) {
      uint32_t to = std::min<uint32_t>(from + kHold, begin[stripe_index + 1]);
      StripeGuard lock(stripe.mu);
      const uint32_t* index = order.data();
      for (uint32_t k = from; k < to; ++k) {
        if (k + kRecordAhead < to) {
          if (Series* ahead =
                  table_.Find(samples[index[k + kRecordAhead]].ref)) {
            __builtin_prefetch(ahead, 1);
          }
        }
        if (k + kHeadAhead < to) {
          Series* ahead = table_.Find(samples[index[k + kHeadAhead]].ref);
          if (ahead != nullptr && ahead->head != nullptr) {
            __builtin_prefetch(ahead->head + ahead->head_state.bytes(), 1);
          }
        }
        const RefSample& sample = samples[index[k]];
        Series* s = table_.Find(sample.ref);
        AppendResult r = s == nullptr
                             ? AppendResult::kUnknownSeries
                             : AppendLocked(*s, stripe, sample.t, sample.v);
        appended += r == AppendResult::kAppended;
        if (!results.empty()) results[index[k]] = r;
      }
    }
  }
  return appended;
}

AppendResult SeriesStoreImpl::AppendSlow(Series& s, Stripe& stripe, int64_t t,
                                         double v) {
  if (s.dead) return AppendResult::kUnknownSeries;
  if (s.head != nullptr || s.sealed_count > 0) {
    int64_t last_t;
    uint64_t last_bits = 0;
    bool have_bits = s.head != nullptr;
    if (have_bits) {
      last_t = s.head_state.t;
      last_bits = s.head_state.bits;
    } else {
      last_t = s.sealed[s.sealed_count - 1].max_time();
    }
    if (t < last_t) {
      ++stripe.out_of_order;
      return AppendResult::kOutOfOrder;
    }
    if (t == last_t) {
      if (!have_bits) last_bits = LastValueBits(s.sealed[s.sealed_count - 1]);
      if (std::bit_cast<uint64_t>(v) == last_bits) {
        ++stripe.duplicates;
        return AppendResult::kDuplicate;
      }
      ++stripe.conflicts;
      return AppendResult::kConflict;
    }
  }
  if (WindowOf(t) < min_window_.load(std::memory_order_acquire)) {
    ++stripe.too_old;
    return AppendResult::kTooOld;
  }
  if (s.head != nullptr) SealHead(s);
  StartHead(s, stripe, t, v);
  return AppendResult::kAppended;
}

void SeriesStoreImpl::GrowHead(Series& s) {
  std::size_t need = s.head_state.bytes() + kXorAppendReserve;
  std::size_t capacity = growth_.Next(s.head_capacity);
  while (capacity < need) capacity = growth_.Next(capacity);
  s.head = memory_.Grow(s.head, s.head_capacity, capacity);
  s.head_capacity = static_cast<uint16_t>(capacity);
}

void SeriesStoreImpl::StartHead(Series& s, Stripe& stripe, int64_t t,
                                double v) {
  std::size_t capacity = growth_.first();
  s.head = memory_.Allocate(capacity);
  s.head_capacity = static_cast<uint16_t>(capacity);
  s.head_state = XorAppendState();
  s.head_last = WindowLast(WindowOf(t));
  XorAppend(s.head, s.head_state, t, v);
  stripe.live_bytes += s.head_state.bytes();
  ++stripe.chunks;
  ++stripe.samples;
  ++stripe.appended;
  if (t > stripe.max_time) stripe.max_time = t;
}

void SeriesStoreImpl::SealHead(Series& s) {
  std::span<const uint8_t> bytes(s.head, s.head_state.bytes());
  int64_t min_time = XorFirstTimestamp(bytes);
  ChunkWindow* window = GetWindow(WindowOf(min_time));
  const uint8_t* data;
  if (options_.sealed_layout == SealedChunkLayout::kPackedPerWindow) {
    data = window->Pack(bytes);
    memory_.Free(s.head, s.head_capacity);
  } else {
    window->Adopt(s.head, s.head_capacity);
    data = s.head;
  }
  PushSealed(s, SealedChunk::Make(data, bytes.size(),
                                  static_cast<uint64_t>(s.head_state.t) -
                                      static_cast<uint64_t>(min_time)));
  s.head = nullptr;
  s.head_capacity = 0;
}

void SeriesStoreImpl::PushSealed(Series& s, SealedChunk chunk) {
  std::size_t have = SealedBytes(s.sealed_count);
  std::size_t want = SealedBytes(s.sealed_count + 1);
  if (want != have) {
    s.sealed = static_cast<SealedChunk*>(
        have == 0 ? arena_.Allocate(want) : arena_.Reallocate(s.sealed, want));
  }
  s.sealed[s.sealed_count++] = chunk;
}

void SeriesStoreImpl::DropSealed(Series& s, Stripe& stripe, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    stripe.samples -= s.sealed[i].samples();
    stripe.live_bytes -= s.sealed[i].bytes;
  }
  stripe.chunks -= n;
  std::size_t have = SealedBytes(s.sealed_count);
  s.sealed_count -= n;
  std::memmove(s.sealed, s.sealed + n, s.sealed_count * sizeof(SealedChunk));
  std::size_t want = SealedBytes(s.sealed_count);
  if (want == 0) {
    arena_.Deallocate(s.sealed, have);
    s.sealed = nullptr;
  } else if (want != have) {
    s.sealed = static_cast<SealedChunk*>(arena_.Reallocate(s.sealed, want));
  }
}

void SeriesStoreImpl::FreeHead(Series& s, Stripe& stripe) {
  stripe.samples -= s.head_state.count;
  stripe.live_bytes -= s.head_state.bytes();
  --stripe.chunks;
  memory_.Free(s.head, s.head_capacity);
  s.head = nullptr;
  s.head_capacity = 0;
}

ChunkWindow* SeriesStoreImpl::GetWindow(int64_t index) {
  {
    std::shared_lock lock(windows_mu_);
    auto it = windows_.find(index);
    if (it != windows_.end()) return it->second.get();
  }
  std::lock_guard lock(windows_mu_);
  auto& window = windows_[index];
  if (window == nullptr) window = std::make_shared<ChunkWindow>(index, memory_);
  return window.get();
}

SeriesStoreStats SeriesStoreImpl::Stats() const {
  SeriesStoreStats out;
  uint32_t size = table_.size();
  for (unsigned i = 0; i < kStripes; ++i) {
    const Stripe& stripe = stripes_[i];
    StripeGuard lock(stripe.mu);
    out.samples += stripe.samples;
    out.chunks += stripe.chunks;
    out.live_bytes += stripe.live_bytes;
    out.appended += stripe.appended;
    out.duplicates += stripe.duplicates;
    out.out_of_order += stripe.out_of_order;
    out.conflicts += stripe.conflicts;
    out.too_old += stripe.too_old;
    ForEachRefInStripe(i, size, [&](SeriesRef ref) {
      const Series& s = *table_.Find(ref);
      if (s.dead) {
        ++out.dead_series;
        return;
      }
      ++out.series;
      out.series_bytes += sizeof(Series) + s.sealed_count * sizeof(SealedChunk);
      if (s.sealed_count > 0) {
        out.min_time = std::min(out.min_time, s.sealed[0].min_time());
        out.max_time =
            std::max(out.max_time, s.sealed[s.sealed_count - 1].max_time());
      }
      if (s.head != nullptr) {
        out.head_chunk_bytes += memory_.Held(s.head_capacity);
        out.head_live_bytes += s.head_state.bytes();
        out.min_time = std::min(
            out.min_time, XorFirstTimestamp({s.head, s.head_state.bytes()}));
        out.max_time = std::max(out.max_time, s.head_state.t);
      }
    });
  }
  {
    std::shared_lock lock(windows_mu_);
    out.windows = windows_.size();
  }
  {
    std::shared_lock lock(index_mu_);
    SeriesIndex::Usage usage = index_.LiveUsage();
    out.label_bytes = usage.label_bytes;
    out.index_bytes = usage.index_bytes;
  }
  out.too_old += too_old_unseen_.load(std::memory_order_relaxed);
  out.chunk_bytes = memory_.held();
  out.arena = alloc::CaptureArenaStats(arena_).memory;
  return out;
}

}  // namespace keel::core::core_internal
