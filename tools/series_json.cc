#include "tools/series_json.h"

#include <cstdint>

namespace keel::tools {
namespace {

double PerSample(uint64_t bytes, uint64_t samples) {
  return samples == 0
             ? 0.0
             : static_cast<double>(bytes) / static_cast<double>(samples);
}

}  // namespace

void AddHeadAndSealedBytes(const core::SeriesStoreStats& stats,
                           const core::SeriesStore::SealedStats& sealed,
                           JsonObject& out) {
  out.Add("sealed_samples", sealed.samples)
      .Add("sealed_bytes", sealed.bytes)
      .Add("head_bytes_per_sample", PerSample(stats.chunk_bytes - sealed.bytes,
                                              stats.samples - sealed.samples))
      .Add("sealed_bytes_per_sample", PerSample(sealed.bytes, sealed.samples));
}

}  // namespace keel::tools
