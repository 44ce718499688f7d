// Painting: turns a builder's rows, which may overlap and come in any
// order, into one family's disjoint, sorted ranges with their fields, as
// described in range_table_builder.h.
#ifndef KEEL_CORE_RANGES_INTERNAL_RANGE_PAINT_H_
#define KEEL_CORE_RANGES_INTERNAL_RANGE_PAINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/ranges/range_table_builder.h"

namespace keel::core::core_internal {

inline constexpr uint8_t kSetsAs = 1;
inline constexpr uint8_t kSetsCountry = 2;
inline constexpr uint16_t kNoCountry = 1023;

// One row as added; `order` is its position in input order.
struct PendingRow {
  unsigned __int128 first;
  unsigned __int128 last;
  uint32_t asn;
  uint32_t name;     // index into the builder's names; 0 is none
  uint16_t country;  // 0..675 for AA..ZZ, kNoCountry
  uint8_t groups;    // kSetsAs | kSetsCountry
  bool v6;
  uint32_t source;  // index into the builder's sources
  uint32_t order;
  int64_t line;
};

// A painted range; at least one field is set.
struct PaintedRange {
  unsigned __int128 first;
  unsigned __int128 last;
  uint32_t asn;
  uint32_t name;
  uint16_t country;
};

// Paints the rows of one family (`v6`) into `out`, sorted and disjoint,
// adjacent ranges with equal fields merged. Under OverlapPolicy::kError an
// overlap is an error naming both rows' sources and lines.
absl::Status PaintRanges(const std::vector<PendingRow>& rows, bool v6,
                         OverlapPolicy policy,
                         const std::vector<std::string>& sources,
                         std::vector<PaintedRange>* out);

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_RANGES_INTERNAL_RANGE_PAINT_H_
