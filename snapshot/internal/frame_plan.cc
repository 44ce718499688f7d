#include "snapshot/internal/frame_plan.h"

#include <algorithm>
#include <tuple>

#include "core/io/little_endian.h"
#include "core/series/internal/sealed_codec.h"
#include "snapshot/internal/format.h"

namespace keel::snapshot::snapshot_internal {

FramePlan::FramePlan(const core::SeriesSet& cut,
                     const core::SeriesStore& store) {
  struct Found {
    int64_t window;
    std::span<const uint8_t> frame;
  };
  std::vector<Found> found;
  for (const auto& e : cut.series()) {
    for (const core::ChunkData& c : e.chunks) {
      if (c.encoding != core::kSealedEncoding) continue;
      std::span<const uint8_t> f =
          core::core_internal::SealedFrameOf(c.bytes.data());
      if (number_.try_emplace(f.data(), 0).second) {
        // A frame's base time is its first entry's first sample.
        found.push_back({store.WindowOf(core::GetI64(f.data() + 23)), f});
      }
    }
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const Found& a, const Found& b) {
                     return std::make_tuple(a.window, b.frame.size()) <
                            std::make_tuple(b.window, a.frame.size());
                   });
  struct Group {
    std::size_t used = 0;
    std::vector<std::span<const uint8_t>> frames;
  };
  for (std::size_t begin = 0; begin < found.size();) {
    std::size_t end = begin;
    while (end < found.size() && found[end].window == found[begin].window) {
      ++end;
    }
    std::vector<Group> groups;
    for (std::size_t k = begin; k < end; ++k) {
      std::size_t size = found[k].frame.size();
      auto fit =
          std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
            return g.used + size <= core::core_internal::kSealedBufferBytes;
          });
      if (fit == groups.end()) fit = groups.insert(groups.end(), Group());
      fit->used += size;
      fit->frames.push_back(found[k].frame);
    }
    for (const Group& g : groups) {
      for (std::size_t k = 0; k < g.frames.size(); ++k) {
        number_[g.frames[k].data()] = static_cast<uint32_t>(frames_.size());
        frames_.push_back(g.frames[k]);
        group_bytes_.push_back(k == 0 ? static_cast<uint32_t>(g.used) : 0);
      }
    }
    begin = end;
  }
}

FramePlan::Ref FramePlan::RefOf(const uint8_t* entry) const {
  const uint8_t* frame = core::core_internal::SealedFrameOf(entry).data();
  return {number_.find(frame)->second, static_cast<uint32_t>(entry - frame)};
}

}  // namespace keel::snapshot::snapshot_internal
