#include "core/query/internal/selected_series.h"

#include <algorithm>
#include <string>

namespace keel::query_internal {

// The selected series in label order, as Prometheus' storage returns them.
// Each label set is flattened once into one string, names and values each
// followed by a NUL, so that a comparison is one memcmp over contiguous
// bytes rather than a walk over labels' strings: the same order as
// CompareLabels, since a string ending sorts before any byte but NUL. A
// label holding a NUL would break that; then the sort compares labels.
std::vector<std::size_t> SortedEntries(const core::SeriesSet& set) {
  auto entries = set.series();
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (order.size() < 2) return order;
  std::vector<std::string> keys(entries.size());
  bool flat = true;
  for (std::size_t i = 0; i < entries.size() && flat; ++i) {
    std::string& key = keys[i];
    for (const core::Label& l : entries[i].labels) {
      if (l.name.find('\0') != std::string::npos ||
          l.value.find('\0') != std::string::npos) {
        flat = false;
        break;
      }
      key.append(l.name).push_back('\0');
      key.append(l.value).push_back('\0');
    }
  }
  if (flat) {
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  } else {
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return CompareLabels(entries[a].labels, entries[b].labels) < 0;
    });
  }
  return order;
}

}  // namespace keel::query_internal
