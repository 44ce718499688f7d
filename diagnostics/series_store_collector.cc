#include "diagnostics/series_store_collector.h"

#include "diagnostics/metric_builder.h"

namespace keel::diagnostics {

std::vector<prometheus::MetricFamily> SeriesStoreCollector::Collect() const {
  core::SeriesStoreStats s = store_->Stats();
  MetricBuilder b;
  auto gauge = [&b](const char* name, const char* help, double value) {
    b.Gauge(name, help).Add(value);
  };
  auto counter = [&b](const char* name, const char* help, double value) {
    b.Counter(name, help).Add(value);
  };
  gauge("keel_series", "Live series in the store.",
        static_cast<double>(s.series));
  gauge("keel_chunks", "Chunks held, sealed and open.",
        static_cast<double>(s.chunks));
  gauge("keel_samples", "Samples held.", static_cast<double>(s.samples));
  gauge("keel_chunk_windows", "Time windows holding sealed chunks.",
        static_cast<double>(s.windows));
  gauge("keel_chunk_bytes",
        "Bytes the allocator holds for chunk bytes, slack included.",
        static_cast<double>(s.chunk_bytes));
  gauge("keel_chunk_live_bytes", "Bytes the chunk encodings use.",
        static_cast<double>(s.live_bytes));
  gauge("keel_chunk_head_bytes",
        "Of keel_chunk_bytes, the open (head) chunks' buffers, slack included.",
        static_cast<double>(s.head_chunk_bytes));
  gauge("keel_chunk_head_live_bytes",
        "Of keel_chunk_live_bytes, the open (head) chunks' encodings.",
        static_cast<double>(s.head_live_bytes));
  // The two sums are read a moment apart while appends go on.
  gauge("keel_chunk_sealed_bytes",
        "Of keel_chunk_bytes, the sealed chunks' (their windows' blocks).",
        s.chunk_bytes > s.head_chunk_bytes
            ? static_cast<double>(s.chunk_bytes - s.head_chunk_bytes)
            : 0.0);
  // 0 while empty: a ratio over no samples has no meaning, and NaN would
  // break dashboards' arithmetic.
  gauge("keel_bytes_per_sample", "Chunk bytes over samples held.",
        s.samples == 0 ? 0.0 : static_cast<double>(s.chunk_bytes) / s.samples);
  gauge("keel_series_label_bytes",
        "Bytes of the label strings live series use, each stored once.",
        static_cast<double>(s.label_bytes));
  gauge("keel_series_index_bytes",
        "Bytes of postings, label arrays and lookup entries of live series.",
        static_cast<double>(s.index_bytes));
  gauge("keel_series_record_bytes",
        "Bytes of live series' records and sealed-chunk arrays.",
        static_cast<double>(s.series_bytes));
  gauge("keel_series_dead",
        "Dropped series; each keeps its ref's map entry and label-array "
        "slot (12 bytes), since refs are never reused.",
        static_cast<double>(s.dead_series));
  gauge("keel_series_memory_pressure",
        "1 while the store is told memory is short (defragments eagerly).",
        store_->memory_pressure() ? 1.0 : 0.0);
  gauge("keel_series_store_bytes",
        "Bytes allocated from the store's arena (labels, postings, chunks).",
        static_cast<double>(s.arena.allocated));
  if (s.samples > 0) {
    gauge("keel_series_oldest_sample_seconds",
          "Timestamp of the oldest sample held, Unix seconds.",
          static_cast<double>(s.min_time) / 1000);
    gauge("keel_series_newest_sample_seconds",
          "Timestamp of the newest sample held, Unix seconds.",
          static_cast<double>(s.max_time) / 1000);
  }
  counter("keel_samples_appended_total", "Samples accepted since start.",
          static_cast<double>(s.appended));
  counter("keel_samples_duplicate_total",
          "Samples ignored: same timestamp and value as the last one.",
          static_cast<double>(s.duplicates));
  counter("keel_samples_out_of_order_total",
          "Samples rejected as older than their series' last sample.",
          static_cast<double>(s.out_of_order));
  counter("keel_samples_conflict_total",
          "Samples rejected: same timestamp as the last one, another value.",
          static_cast<double>(s.conflicts));
  return b.Take();
}

}  // namespace keel::diagnostics
