// Postings: sorted lists of SeriesRefs, one per label name=value pair, and
// the set operations a selector needs on them.
//
//   std::vector<uint32_t> a = {1, 4, 9}, b = {4, 9, 12};
//   keel::core::IntersectPostings(a, b);   // {4, 9}
//
// Every input must be sorted ascending without repeats; outputs are too.
// Thread safety: pure functions.
#ifndef KEEL_CORE_SERIES_POSTINGS_H_
#define KEEL_CORE_SERIES_POSTINGS_H_

#include <cstdint>
#include <span>
#include <vector>

namespace keel::core {

std::vector<uint32_t> IntersectPostings(std::span<const uint32_t> a,
                                        std::span<const uint32_t> b);
// The union of many lists: a k-way merge through a heap for a few lists, a
// bitmap over the refs for many.
std::vector<uint32_t> MergePostings(
    std::span<const std::span<const uint32_t>> lists);
// a minus b.
std::vector<uint32_t> SubtractPostings(std::span<const uint32_t> a,
                                       std::span<const uint32_t> b);

}  // namespace keel::core

#endif  // KEEL_CORE_SERIES_POSTINGS_H_
