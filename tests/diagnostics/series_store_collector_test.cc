#include "diagnostics/series_store_collector.h"

#include <catch2/catch.hpp>
#include <string>

#include "prometheus/text_serializer.h"
#include "tests/diagnostics/metric_samples.h"

namespace keel::diagnostics {
namespace {

TEST_CASE("series store collector follows the store at each scrape") {
  core::SeriesStore store;
  SeriesStoreCollector collector(&store);
  auto empty = collector.Collect();
  CHECK(SampleValue(empty, "keel_series") == 0);
  CHECK(SampleValue(empty, "keel_bytes_per_sample") == 0);
  CHECK(FindFamily(empty, "keel_series_oldest_sample_seconds") == nullptr);

  for (int s = 0; s < 10; ++s) {
    core::Labels labels = {{"__name__", "m"}, {"i", std::to_string(s)}};
    for (int i = 0; i < 300; ++i) {
      REQUIRE(store.Append(labels, 1700000000000 + i * 15000, i).ok());
    }
  }
  REQUIRE(*store.Append({{"__name__", "m"}, {"i", "0"}}, 0, 1) ==
          core::AppendResult::kOutOfOrder);
  auto families = collector.Collect();
  core::SeriesStoreStats stats = store.Stats();
  CHECK(SampleValue(families, "keel_series") == 10);
  CHECK(SampleValue(families, "keel_samples") == 3000);
  CHECK(SampleValue(families, "keel_chunks") ==
        static_cast<double>(stats.chunks));
  CHECK(SampleValue(families, "keel_chunks") >= 30);  // 120-sample chunks
  CHECK(SampleValue(families, "keel_chunk_bytes") ==
        static_cast<double>(stats.chunk_bytes));
  CHECK(SampleValue(families, "keel_chunk_live_bytes") ==
        static_cast<double>(stats.live_bytes));
  // 300 samples a series: two sealed 120-sample chunks and an open head.
  CHECK(SampleValue(families, "keel_chunk_head_bytes") ==
        static_cast<double>(stats.head_chunk_bytes));
  CHECK(SampleValue(families, "keel_chunk_head_live_bytes") ==
        static_cast<double>(stats.head_live_bytes));
  CHECK(stats.head_live_bytes > 0);
  CHECK(stats.head_live_bytes < stats.head_chunk_bytes);
  CHECK(SampleValue(families, "keel_chunk_sealed_bytes") ==
        static_cast<double>(stats.chunk_bytes - stats.head_chunk_bytes));
  CHECK(SampleValue(families, "keel_chunk_sealed_bytes") > 0);
  CHECK(SampleValue(families, "keel_bytes_per_sample") ==
        Approx(static_cast<double>(stats.chunk_bytes) / 3000));
  CHECK(SampleValue(families, "keel_samples_appended_total") == 3000);
  CHECK(SampleValue(families, "keel_samples_out_of_order_total") == 1);
  CHECK(SampleValue(families, "keel_series_oldest_sample_seconds") ==
        1700000000);
  CHECK(SampleValue(families, "keel_series_newest_sample_seconds") ==
        1700000000 + 299 * 15);
  CHECK(SampleValue(families, "keel_series_store_bytes") > 0);

  std::string text = prometheus::TextSerializer().Serialize(families);
  CHECK_THAT(text, Catch::Contains("\nkeel_samples_out_of_order_total 1\n"));
  CHECK_THAT(text,
             Catch::Contains("# TYPE keel_samples_appended_total counter"));
  CHECK_THAT(text, !Catch::Contains("_total_total"));
}

}  // namespace
}  // namespace keel::diagnostics
