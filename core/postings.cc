#include "keel/core/postings.h"

#include <algorithm>
#include <iterator>
#include <queue>
#include <utility>

namespace keel::core {

std::vector<uint32_t> IntersectPostings(std::span<const uint32_t> a,
                                        std::span<const uint32_t> b) {
  if (a.size() > b.size()) std::swap(a, b);
  std::vector<uint32_t> out;
  out.reserve(a.size());
  if (a.size() * 32 < b.size()) {
    // Galloping: a is tiny next to b.
    auto from = b.begin();
    for (uint32_t x : a) {
      from = std::lower_bound(from, b.end(), x);
      if (from == b.end()) break;
      if (*from == x) out.push_back(x);
    }
    return out;
  }
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                        std::back_inserter(out));
  return out;
}

std::vector<uint32_t> MergePostings(
    std::span<const std::span<const uint32_t>> lists) {
  std::vector<uint32_t> out;
  if (lists.size() == 1) return {lists[0].begin(), lists[0].end()};
  using Head = std::pair<uint32_t, std::size_t>;  // value, list
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heap;
  std::vector<std::size_t> next(lists.size(), 0);
  std::size_t total = 0;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    total += lists[i].size();
    if (!lists[i].empty()) heap.push({lists[i][0], i});
  }
  out.reserve(total);
  while (!heap.empty()) {
    auto [value, i] = heap.top();
    heap.pop();
    if (out.empty() || out.back() != value) out.push_back(value);
    if (++next[i] < lists[i].size()) heap.push({lists[i][next[i]], i});
  }
  return out;
}

std::vector<uint32_t> SubtractPostings(std::span<const uint32_t> a,
                                       std::span<const uint32_t> b) {
  std::vector<uint32_t> out;
  out.reserve(a.size());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                      std::back_inserter(out));
  return out;
}

}  // namespace keel::core
