// The series import format (core/series/series_text_format.h): a line that
// parses into labels a store takes (NormalizeLabels) formats (FormatSampleLine)
// as a line that parses back to the same labels, timestamp and value bits (any
// NaN as NaN). The whole input also goes
// through ImportTextFile into a store, whose counts must add up to the
// sample lines read.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>

#include "core/series/series_store.h"
#include "core/series/series_text_format.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

keel::core::Labels Sorted(keel::core::Labels labels) {
  std::sort(labels.begin(), labels.end(),
            [](const keel::core::Label& a, const keel::core::Label& b) {
              return std::tie(a.name, a.value) < std::tie(b.name, b.value);
            });
  return labels;
}

uint64_t Bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = keel::fuzz::AsText(data, size);
  uint64_t sample_lines = 0;
  bool all_parse = true;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    // As ImportTextFile's LineReader does.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    keel::core::TextSample sample;
    auto parsed = keel::core::ParseSampleLine(line, sample);
    if (!parsed.ok()) {
      all_parse = false;
      continue;
    }
    if (!*parsed) continue;
    ++sample_lines;
    keel::core::Labels normalized = sample.labels;
    if (!keel::core::NormalizeLabels(normalized, {}).ok()) continue;
    std::string printed =
        keel::core::FormatSampleLine(sample.labels, sample.t, sample.v);
    keel::core::TextSample again;
    auto reparsed = keel::core::ParseSampleLine(printed, again);
    FUZZ_CHECK(reparsed.ok() && *reparsed)
        << line << " -> " << printed << ": " << reparsed.status();
    FUZZ_CHECK(Sorted(again.labels) == Sorted(sample.labels))
        << line << " -> " << printed;
    FUZZ_CHECK(again.t == sample.t) << printed;
    FUZZ_CHECK(std::isnan(sample.v) ? std::isnan(again.v)
                                    : Bits(again.v) == Bits(sample.v))
        << printed;
  }

  keel::core::SeriesStoreOptions options;
  options.huge_pages = false;
  options.arena_name = "fuzz_series";
  keel::core::SeriesStore store(options);
  keel::fuzz::MemFile file(text);
  auto imported = keel::core::ImportTextFile(file.path(), store);
  if (!imported.ok()) return 0;
  // Import refuses more than a line parse does (labels are normalized), so
  // only an import that succeeded is compared with the lines.
  FUZZ_CHECK(all_parse) << "import accepted a line ParseSampleLine refuses";
  FUZZ_CHECK(imported->samples == sample_lines)
      << imported->samples << " vs " << sample_lines;
  FUZZ_CHECK(imported->appended + imported->duplicates +
                 imported->out_of_order + imported->conflicts +
                 imported->too_old ==
             imported->samples);
  FUZZ_CHECK(store.Stats().series == imported->new_series);
  return 0;
}
