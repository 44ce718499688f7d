// SeriesStoreImpl's restore side: chunks from a snapshot checked as a
// writer would have made them, then adopted as sealed chunks.
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "core/series/internal/series_store_impl.h"

namespace keel::core::core_internal {

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
  // Looked up under the stripe lock, as Append does: a dropped series'
  // record may be another series' by then.
  Stripe& stripe = StripeOf(ref);
  StripeGuard lock(stripe.mu);
  Series* s = table_.Find(ref);
  if (s == nullptr || s->dead) {
    return absl::NotFoundError(absl::StrCat("no series ", ref));
  }
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

}  // namespace keel::core::core_internal
