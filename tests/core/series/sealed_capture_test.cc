// Sealing a real capture (tests/data/node_exporter_capture.txt.gz: a
// Prometheus and a node exporter scraped every second, as
// bench/series_compare_prometheus.sh records them): every sample reads back
// bit for bit, and the sealed windows stay under a bytes-per-sample bound
// that a lost encoding choice (decimal mantissas, grid timestamps, frames
// shared by series scraped together) would break.
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/io/line_reader.h"
#include "core/series/selector.h"
#include "core/series/series_store.h"
#include "core/series/series_text_format.h"

namespace keel::core {
namespace {

constexpr char kCapture[] = KEEL_TEST_DATA_DIR "/node_exporter_capture.txt.gz";

struct Sample {
  int64_t t;
  uint64_t bits;
  friend bool operator==(const Sample&, const Sample&) = default;
};
using Samples = std::map<std::string, std::vector<Sample>>;

// The capture as its lines say, read apart from the import.
Samples Expected() {
  auto reader = LineReader::Open(kCapture);
  REQUIRE(reader.ok());
  Samples out;
  TextSample parsed;
  std::string_view line;
  while (reader->Next(&line)) {
    auto ok = ParseSampleLine(line, parsed);
    REQUIRE(ok.ok());
    if (!*ok) continue;
    out[LabelsToString(parsed.labels)].push_back(
        {parsed.t, std::bit_cast<uint64_t>(parsed.v)});
  }
  REQUIRE(reader->status().ok());
  return out;
}

Samples Read(const SeriesStore& store) {
  auto all = ParseSelector(R"({__name__=~".+"})");
  REQUIRE(all.ok());
  SeriesSet set = store.Select(*all, INT64_MIN, INT64_MAX);
  Samples out;
  for (const auto& entry : set.series()) {
    auto& samples = out[LabelsToString(entry.labels)];
    for (auto it = set.Samples(entry); it.Next();) {
      samples.push_back({it.t(), std::bit_cast<uint64_t>(it.v())});
    }
  }
  return out;
}

TEST_CASE("a real capture seals losslessly and small") {
  SeriesStoreOptions options;
  options.chunk_window_ms = 60000;
  SeriesStore store(options);
  auto imported = ImportTextFile(kCapture, store);
  REQUIRE(imported.ok());
  const Samples expected = Expected();
  REQUIRE(expected.size() == 149);

  const SeriesStoreStats before = store.Stats();
  REQUIRE(store.SealWindows(INT64_MAX) >= 4);
  SeriesStore::SealedStats sealed = store.GetSealedStats();
  REQUIRE(sealed.samples > 35000);
  CHECK(Read(store) == expected);
  // Allocated window bytes over sealed samples (docs/sealed_windows.md
  // has this fixture's figure): the bound sits a little above it, and XOR
  // chunks must cost at least twice as much for the same samples.
  double per_sample =
      static_cast<double>(sealed.bytes) / static_cast<double>(sealed.samples);
  double xor_per_sample = static_cast<double>(before.chunk_bytes) /
                          static_cast<double>(before.samples);
  INFO("sealed " << per_sample << " bytes/sample, XOR " << xor_per_sample);
  CHECK(per_sample < 0.65);
  CHECK(per_sample * 2 < xor_per_sample);
}

}  // namespace
}  // namespace keel::core
