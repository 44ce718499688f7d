// FramePlan: the sealed frames a snapshot (format v2) writes, found from a
// cut's sealed entries, each frame once, grouped per window into buffers
// of at most core_internal::kSealedBufferBytes as sealing packs them
// (core_internal::PackSealedFrames), so a restore allocates the same buffers
// and copies frames into them as they are.
//
//   FramePlan plan(cut, store);
//   for (std::size_t k = 0; k < plan.frames().size(); ++k)
//     write(plan.group_bytes()[k], plan.frames()[k]);
//   FramePlan::Ref ref = plan.RefOf(entry);  // frame number, entry offset
//
// Thread safety: none. The cut must outlive the plan (frames are viewed in
// the windows it holds).
#ifndef KEEL_SNAPSHOT_INTERNAL_FRAME_PLAN_H_
#define KEEL_SNAPSHOT_INTERNAL_FRAME_PLAN_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/series/series_store.h"

namespace keel::snapshot::snapshot_internal {

class FramePlan {
 public:
  FramePlan(const core::SeriesSet& cut, const core::SeriesStore& store);

  struct Ref {
    uint32_t frame;
    uint32_t offset;  // of the entry in its frame
  };
  // REQUIRES: `entry` is the data of a sealed chunk of the cut.
  Ref RefOf(const uint8_t* entry) const;

  // In file order: group by group, window by window.
  const std::vector<std::span<const uint8_t>>& frames() const {
    return frames_;
  }
  // Per frame: the bytes of the group it opens, or 0 if it continues one.
  const std::vector<uint32_t>& group_bytes() const { return group_bytes_; }

 private:
  std::vector<std::span<const uint8_t>> frames_;
  std::vector<uint32_t> group_bytes_;
  absl::flat_hash_map<const uint8_t*, uint32_t> number_;
};

}  // namespace keel::snapshot::snapshot_internal

#endif  // KEEL_SNAPSHOT_INTERNAL_FRAME_PLAN_H_
