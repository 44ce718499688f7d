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
  for (std::size_t begin = 0; begin < found.size();) {
    std::size_t end = begin;
    while (end < found.size() && found[end].window == found[begin].window) {
      ++end;
    }
    // The buffers sealing packed the window's frames into.
    std::vector<std::size_t> sizes;
    for (std::size_t k = begin; k < end; ++k) {
      sizes.push_back(found[k].frame.size());
    }
    std::vector<uint32_t> in = core::core_internal::PackSealedFrames(sizes);
    std::vector<std::size_t> used;
    for (std::size_t k = 0; k < in.size(); ++k) {
      if (in[k] >= used.size()) used.resize(in[k] + 1, 0);
      used[in[k]] += sizes[k];
    }
    for (uint32_t b = 0; b < used.size(); ++b) {
      bool first = true;
      for (std::size_t k = 0; k < in.size(); ++k) {
        if (in[k] != b) continue;
        number_[found[begin + k].frame.data()] =
            static_cast<uint32_t>(frames_.size());
        frames_.push_back(found[begin + k].frame);
        group_bytes_.push_back(first ? static_cast<uint32_t>(used[b]) : 0);
        first = false;
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
