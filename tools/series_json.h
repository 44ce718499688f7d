// The JSON fields that split a series store's chunk bytes into its head
// (XOR chunks, still appended to) and its sealed windows, for `keel series
// import` and `keel bench series`, so that both report them alike:
//
//   JsonObject out;
//   AddHeadAndSealedBytes(store.Stats(), store.GetSealedStats(), out);
//   // "sealed_samples", "sealed_bytes", "head_bytes_per_sample",
//   // "sealed_bytes_per_sample" (allocated bytes over samples; 0 if none)
//
// Thread safety: as JsonObject's.
#ifndef KEEL_TOOLS_SERIES_JSON_H_
#define KEEL_TOOLS_SERIES_JSON_H_

#include "core/series/series_store.h"
#include "tools/json.h"

namespace keel::tools {

void AddHeadAndSealedBytes(const core::SeriesStoreStats& stats,
                           const core::SeriesStore::SealedStats& sealed,
                           JsonObject& out);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERIES_JSON_H_
