#include "bench/serve/process_memory.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace keel::bench {

MappedRss ReadMappedRss(int pid) {
  MappedRss rss;
  std::ifstream smaps(absl::StrCat("/proc/", pid, "/smaps"));
  std::string line;
  bool file_backed = false;
  while (std::getline(smaps, line)) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.empty()) continue;
    // A mapping's header starts with its range, "start-end".
    if (fields[0].find('-') != absl::string_view::npos &&
        fields[0].back() != ':') {
      file_backed = fields.size() >= 6 && absl::StartsWith(fields[5], "/");
      continue;
    }
    uint64_t kib = 0;
    if (fields[0] == "Rss:" && fields.size() >= 2 &&
        absl::SimpleAtoi(fields[1], &kib)) {
      (file_backed ? rss.file_backed : rss.anonymous) += kib << 10;
    }
  }
  return rss;
}

MetricSamples ParseMetricsText(std::string_view text) {
  MetricSamples samples;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

double MetricValue(const MetricSamples& samples, std::string_view key) {
  auto it = samples.find(key);
  return it == samples.end() ? 0 : it->second;
}

}  // namespace keel::bench
