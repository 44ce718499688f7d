#include "core/series/postings.h"

#include <algorithm>
#include <bit>
#include <iterator>
#include <queue>
#include <utility>

namespace keel::core {
namespace {

// Up to this many lists merge through a heap, more through a bitmap.
constexpr std::size_t kHeapMergeMaxLists = 16;

}  // namespace

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
  std::size_t total = 0;
  uint32_t max = 0;
  for (const auto& list : lists) {
    total += list.size();
    if (!list.empty()) max = std::max(max, list.back());
  }
  if (total == 0) return out;
  out.reserve(total);
  if (lists.size() > kHeapMergeMaxLists) {
    // A heap costs a few cache misses per element once the lists are many
    // (a regex matching thousands of label values, each a short list); a
    // bitmap over the refs costs one bit an element and a word per 64 refs.
    std::vector<uint64_t> bits(max / 64 + 1, 0);
    for (const auto& list : lists) {
      for (uint32_t x : list) bits[x / 64] |= uint64_t{1} << (x % 64);
    }
    for (std::size_t w = 0; w < bits.size(); ++w) {
      for (uint64_t word = bits[w]; word != 0; word &= word - 1) {
        out.push_back(static_cast<uint32_t>(w * 64 + std::countr_zero(word)));
      }
    }
    return out;
  }
  using Head = std::pair<uint32_t, std::size_t>;  // value, list
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heap;
  std::vector<std::size_t> next(lists.size(), 0);
  for (std::size_t i = 0; i < lists.size(); ++i) {
    if (!lists[i].empty()) heap.push({lists[i][0], i});
  }
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
