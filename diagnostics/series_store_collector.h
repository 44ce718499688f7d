// SeriesStoreCollector: a core::SeriesStore's shape as Prometheus metrics,
// computed at scrape time from SeriesStore::Stats().
//
//   registry.push_back(std::make_shared<SeriesStoreCollector>(&store));
//
// Metrics (gauges unless _total): keel_series, keel_chunks, keel_samples,
// keel_chunk_windows, keel_chunk_bytes (what the allocator holds for chunk
// bytes) split into keel_chunk_head_bytes (open chunks' buffers) and
// keel_chunk_sealed_bytes, keel_chunk_live_bytes (what the encodings use)
// and keel_chunk_head_live_bytes (the open chunks' share),
// keel_bytes_per_sample (chunk bytes / samples), keel_series_store_bytes
// (everything the store's arena holds), keel_series_oldest_sample_seconds
// and keel_series_newest_sample_seconds (absent while empty), and
// keel_samples_{appended,duplicate,out_of_order,conflict}_total.
//
// Thread safety: Collect may run on any thread while the store is used.
// REQUIRES: the store outlives the collector.
#ifndef KEEL_DIAGNOSTICS_SERIES_STORE_COLLECTOR_H_
#define KEEL_DIAGNOSTICS_SERIES_STORE_COLLECTOR_H_

#include <vector>

#include "core/series/series_store.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keel::diagnostics {

class SeriesStoreCollector : public prometheus::Collectable {
 public:
  explicit SeriesStoreCollector(const core::SeriesStore* store)
      : store_(store) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const core::SeriesStore* store_;
};

}  // namespace keel::diagnostics

#endif  // KEEL_DIAGNOSTICS_SERIES_STORE_COLLECTOR_H_
