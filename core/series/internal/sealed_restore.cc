// SeriesBulkRestore's sealed side: a snapshot's frames copied into window
// buffers as they are, and sealed entries pointing into them, so a restore
// neither decodes into XOR chunks nor seals again.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/io/little_endian.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/internal/series_restorer.h"

namespace keel::core::core_internal {
namespace {

// The largest buffer of frames a restore allocates (snapshot format v2's
// bound): sealing packs frames into window blocks no larger.
constexpr std::size_t kMaxGroupBytes = 1u << 20;
static_assert(ChunkWindow::kMaxBlock <= kMaxGroupBytes);

}  // namespace

absl::Status SeriesBulkRestore::AddFrame(std::span<const uint8_t> frame,
                                         uint32_t group_bytes) {
  if (finished_) return absl::FailedPreconditionError("restore finished");
  // A frame's base time is its first entry's first sample.
  const int64_t w = store_.WindowOf(GetI64(frame.data() + 23));
  if (group_bytes > 0) {
    if (group_left_ != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("frame ", frames_.size(), " opens a group while ",
                       group_left_, " bytes of the one before are unfilled"));
    }
    // A frame larger than the bound has a buffer of its own (PackFrames).
    if (group_bytes > kMaxGroupBytes && group_bytes != frame.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("frame ", frames_.size(), ": group of ", group_bytes,
                       " bytes, more than ", kMaxGroupBytes));
    }
    window_.reset();  // TakeBuffer takes the window's lock
    window_start_ = INT64_MAX;
    window_last_ = INT64_MIN;
    ChunkWindow* window = store_.GetWindow(w);
    group_at_ = window->TakeBuffer(group_bytes);
    group_left_ = group_bytes;
    group_window_ = w;
    window->set_sealed();
  } else if (group_left_ == 0 || w != group_window_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame ", frames_.size(), " continues no group of its window"));
  }
  if (frame.size() > group_left_) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame ", frames_.size(), " of ", frame.size(),
                     " bytes overflows its group (", group_left_, " left)"));
  }
  std::memcpy(group_at_, frame.data(), frame.size());
  RenumberSealedFrame({group_at_, frame.size()});
  frames_.push_back({group_at_, w});
  group_at_ += frame.size();
  group_left_ -= frame.size();
  return absl::OkStatus();
}

absl::Status SeriesBulkRestore::AddSealedEntry(SeriesRef ref, uint32_t frame,
                                               const SealedEntryInfo& entry) {
  if (finished_) return absl::FailedPreconditionError("restore finished");
  ChunkData chunk;
  chunk.min_time = entry.min_time;
  chunk.max_time = entry.max_time;
  chunk.samples = static_cast<uint16_t>(entry.count);
  chunk.encoding = kSealedEncoding;
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("restore sealed entry of series ", ref, " [",
                     entry.min_time, ", ", entry.max_time, "]: ", what));
  };
  if (group_left_ != 0) {
    return bad(
        absl::StrCat("the last frame group lacks ", group_left_, " bytes"));
  }
  if (frame >= frames_.size()) {
    return bad(absl::StrCat("frame ", frame, " not restored (", frames_.size(),
                            " frames)"));
  }
  const RestoredFrame& f = frames_[frame];
  if (store_.WindowOf(entry.min_time) != f.window ||
      store_.WindowOf(entry.max_time) != f.window) {
    return bad(
        "lies outside its frame's chunk window (restore with the chunk "
        "window the snapshot was written with)");
  }
  Series* s = store_.table_.Find(ref);
  if (s == nullptr) return absl::NotFoundError(absl::StrCat("no series ", ref));
  if (entry.min_time <= last_time_[ref]) {
    return bad("does not start after the series' previous chunk");
  }
  chunk.bytes = {f.at + entry.offset, entry.share};
  PushSealed(*s, SealedChunk::Make(chunk.bytes.data(), entry.share,
                                   static_cast<uint64_t>(entry.max_time) -
                                       static_cast<uint64_t>(entry.min_time),
                                   /*compact=*/true));
  store_.CountRestored(store_.StripeOf(ref), chunk);
  last_time_[ref] = entry.max_time;
  return absl::OkStatus();
}

}  // namespace keel::core::core_internal
