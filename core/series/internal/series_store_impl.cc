#include "core/series/internal/series_store_impl.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "alloc/size_classes.h"
#include "alloc/stats.h"

namespace keel::core::core_internal {
namespace {

uint64_t LastValueBits(std::span<const uint8_t> chunk) {
  XorIterator it(chunk);
  uint64_t bits = 0;
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
      index_(arena_) {}

SeriesStoreImpl::~SeriesStoreImpl() {
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
  if (auto s = NormalizeLabels(labels, options_.label_limits); !s.ok()) {
    return s;
  }
  std::vector<uint32_t> pairs;
  pairs.reserve(labels.size());
  if (!must_be_new) {
    std::shared_lock lock(index_mu_);
    if (index_.FindPairs(labels, pairs)) {
      if (auto ref = index_.FindSeries(pairs)) return *ref;
    }
  }
  std::lock_guard lock(index_mu_);
  index_.InternPairs(labels, pairs);
  if (auto ref = index_.FindSeries(pairs)) {
    if (!must_be_new) return *ref;
    return absl::AlreadyExistsError(
        absl::StrCat("series ", LabelsToString(labels), " exists already"));
  }
  if (!must_be_new && options_.max_series != 0 &&
      table_.size() - dead_series_ >= options_.max_series) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the store holds its limit of ", options_.max_series,
        " series (max_series); ", LabelsToString(labels), " is not created"));
  }
  SeriesRef ref;
  if (!table_.Add(Series(), ref)) {
    return absl::ResourceExhaustedError("all 2^32-1 series refs are used");
  }
  index_.AddSeries(ref, pairs);
  return ref;
}

absl::StatusOr<SeriesRef> SeriesStoreImpl::Find(Labels labels) const {
  if (auto s = NormalizeLabels(labels, options_.label_limits); !s.ok()) {
    return s;
  }
  std::vector<uint32_t> pairs;
  pairs.reserve(labels.size());
  std::shared_lock lock(index_mu_);
  if (index_.FindPairs(labels, pairs)) {
    if (auto ref = index_.FindSeries(pairs)) return *ref;
  }
  return absl::NotFoundError(
      absl::StrCat("no series ", LabelsToString(labels)));
}

AppendResult SeriesStoreImpl::Append(SeriesRef ref, int64_t t, double v) {
  Series* s = table_.Find(ref);
  if (s == nullptr) return AppendResult::kUnknownSeries;
  Stripe& stripe = StripeOf(ref);
  StripeGuard lock(stripe.mu);
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
      if (!have_bits)
        last_bits = LastValueBits(s.sealed[s.sealed_count - 1].view());
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

std::shared_ptr<const ChunkWindow> SeriesStoreImpl::FindWindow(
    int64_t index) const {
  std::shared_lock lock(windows_mu_);
  auto it = windows_.find(index);
  return it == windows_.end() ? nullptr : it->second;
}

// What a copied label set costs in memory, not only its characters: the
// vector and each Label's two strings, plus the heap blocks of strings too
// long for std::string's inline buffer. A selection of a million series is
// several times its label text, and the budget must see that.
static uint64_t LabelBytes(const Labels& labels) {
  constexpr std::size_t kInline = 15;  // libstdc++'s short-string capacity
  uint64_t bytes = sizeof(Labels) + labels.size() * sizeof(Label);
  for (const Label& l : labels) {
    if (l.name.size() > kInline) bytes += l.name.size() + 1;
    if (l.value.size() > kInline) bytes += l.value.size() + 1;
  }
  return bytes;
}

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
    const Series& s = *table_.Find(refs[i]);
    const Stripe& stripe = StripeOf(refs[i]);
    StripeGuard lock(stripe.mu);
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
        if (!held) set.windows_.push_back(FindWindow(w));
      }
      set.chunks_.push_back(
          {min_time, max_time, chunk.samples(), kXorEncoding, chunk.view()});
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

absl::Status SeriesStoreImpl::CheckRestoredChunk(SeriesRef ref,
                                                 const ChunkData& chunk) const {
  if (ChunkShapeOk(chunk) &&
      WindowOf(chunk.min_time) == WindowOf(chunk.max_time) &&
      WindowOf(chunk.min_time) >= min_window_.load(std::memory_order_acquire))
      [[likely]] {
    return absl::OkStatus();
  }
  return BadRestoredChunk(ref, chunk);
}

absl::Status SeriesStoreImpl::BadRestoredChunk(SeriesRef ref,
                                               const ChunkData& chunk,
                                               bool overlaps) const {
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(
        "restore chunk of series ", ref, " [", chunk.min_time, ", ",
        chunk.max_time, "]: ", absl::string_view(what.data(), what.size())));
  };
  if (overlaps) return bad("does not start after the series' previous chunk");
  if (chunk.encoding != kXorEncoding) {
    return bad(absl::StrCat("encoding ", chunk.encoding, " is not XOR (1)"));
  }
  if (chunk.bytes.size() <= kXorHeaderBytes || chunk.bytes.size() > 65535) {
    return bad(absl::StrCat(chunk.bytes.size(), " bytes (must be 3..65535)"));
  }
  if (chunk.samples == 0 || XorSampleCount(chunk.bytes) != chunk.samples) {
    return bad(absl::StrCat("header holds ", XorSampleCount(chunk.bytes),
                            " samples, the record ", chunk.samples));
  }
  if (XorFirstTimestamp(chunk.bytes) != chunk.min_time) {
    return bad("first timestamp differs from min_time");
  }
  if (chunk.max_time < chunk.min_time ||
      WindowOf(chunk.min_time) != WindowOf(chunk.max_time)) {
    return bad("spans more than one chunk window");
  }
  if (WindowOf(chunk.min_time) < min_window_.load(std::memory_order_acquire)) {
    return bad("lies in a window already truncated");
  }
  return absl::InternalError("restore chunk: no check failed");
}

const uint8_t* SeriesStoreImpl::StoreRestoredBytes(
    ChunkWindow::Writer& window, std::span<const uint8_t> bytes) {
  if (options_.sealed_layout == SealedChunkLayout::kPackedPerWindow) {
    return window.Pack(bytes);
  }
  std::size_t capacity = options_.restore_capacity == RestoreCapacity::kExact
                             ? bytes.size()
                             : growth_.CapacityFor(bytes.size());
  // A sealed chunk never grows: its slack is never written or read.
  uint8_t* p = memory_.AllocateUninitialized(capacity);
  std::memcpy(p, bytes.data(), bytes.size());
  window.Adopt(p, capacity);
  return p;
}

absl::Status SeriesStoreImpl::RestoreChunk(SeriesRef ref,
                                           const ChunkData& chunk) {
  if (absl::Status status = CheckRestoredChunk(ref, chunk); !status.ok()) {
    return status;
  }
  Series* s = table_.Find(ref);
  if (s == nullptr) return absl::NotFoundError(absl::StrCat("no series ", ref));
  Stripe& stripe = StripeOf(ref);
  StripeGuard lock(stripe.mu);
  if (s->dead) return absl::NotFoundError(absl::StrCat("no series ", ref));
  if (s->head != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "series ", ref, " has appended samples; restore into a new store"));
  }
  if (s->sealed_count > 0 &&
      chunk.min_time <= s->sealed[s->sealed_count - 1].max_time()) {
    return BadRestoredChunk(ref, chunk, /*overlaps=*/true);
  }
  ChunkWindow::Writer window(*GetWindow(WindowOf(chunk.min_time)));
  const uint8_t* data = StoreRestoredBytes(window, chunk.bytes);
  PushSealed(*s, SealedChunk::Make(data, chunk.bytes.size(),
                                   static_cast<uint64_t>(chunk.max_time) -
                                       static_cast<uint64_t>(chunk.min_time)));
  CountRestored(stripe, chunk);
  return absl::OkStatus();
}

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
        s.dead = true;
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
  return Truncate(before);
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
      if (s.dead) return;
      ++out.series;
      if (s.sealed_count > 0) {
        out.min_time = std::min(out.min_time, s.sealed[0].min_time());
        out.max_time =
            std::max(out.max_time, s.sealed[s.sealed_count - 1].max_time());
      }
      if (s.head != nullptr) {
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
  out.too_old += too_old_unseen_.load(std::memory_order_relaxed);
  out.chunk_bytes = memory_.held();
  out.arena = alloc::CaptureArenaStats(arena_).memory;
  return out;
}

}  // namespace keel::core::core_internal
