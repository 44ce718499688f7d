// Inline pieces of RangeTable's lookups, shared by the single IPv4 lookup
// (inline in range_table.h, so a caller's loop keeps several lookups in
// flight and drops the fields it does not read) and the out-of-line paths in
// range_table.cc. Include range_table.h, not this file.
#ifndef KEEL_CORE_RANGES_INTERNAL_RANGE_LOOKUP_H_
#define KEEL_CORE_RANGES_INTERNAL_RANGE_LOOKUP_H_

#include <algorithm>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/internal/select.h"
#include "core/ranges/internal/range_format.h"

namespace keel::core::core_internal {

// "AAABAC...ZZ": country code c is the two letters at 2c.
struct CountryLetters {
  char letters[2 * kCountryCodes];
  constexpr CountryLetters() : letters() {
    for (uint32_t c = 0; c < kCountryCodes; ++c) {
      letters[2 * c] = static_cast<char>('A' + c / 26);
      letters[2 * c + 1] = static_cast<char>('A' + c % 26);
    }
  }
};
inline constexpr CountryLetters kCountryLetters;

// Whether IPv4 bucket `bucket` lies wholly in a gap.
inline bool V4GapBucket(const RangeView& v, uint32_t bucket) {
  return (v.v4_gap_buckets[bucket >> 6] >> (bucket & 63)) & 1;
}

// The low 16 bits of a row's start, from its kV4Rows entry.
inline uint32_t V4Key(uint32_t entry) { return (entry ^ kV4RowFlip) >> 16; }

// The number of IPv4 rows up to and including the one holding an address,
// searching the rows [begin, end) of its bucket; `address` is the address's
// low 16 bits << 16 | 0xffff. Halves big buckets down to 16 rows, then finds
// the first of a fixed window of 16 entries above the address: no
// data-dependent branch for the common bucket.
inline uint64_t CountV4(const uint32_t* rows, uint32_t begin, uint32_t end,
                        uint32_t address) {
  const auto probe = static_cast<int32_t>(address ^ kV4RowFlip);
  const uint32_t* base = rows + begin;
  uint32_t n = end - begin;
  while (n > 16) {
    uint32_t half = n / 2;
    base = static_cast<int32_t>(base[half]) <= probe ? base + half : base;
    n -= half;
  }
  // Entries in the window are sorted up to n; those past it belong to other
  // buckets, so the first entry above the address, capped at n, is the count.
#if defined(__SSE2__)
  const __m128i p = _mm_set1_epi32(probe);
  auto above = [&](int i) {
    return _mm_cmpgt_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i)), p);
  };
  __m128i low = _mm_packs_epi32(above(0), above(4));
  __m128i high = _mm_packs_epi32(above(8), above(12));
  auto mask =
      static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(low, high)));
  uint32_t first_above = static_cast<uint32_t>(__builtin_ctz(mask | 0x10000));
#else
  uint32_t first_above = 16;
  for (uint32_t i = 16; i-- > 0;) {
    if (static_cast<int32_t>(base[i]) > probe) first_above = i;
  }
#endif
  return static_cast<uint64_t>(base - rows) + std::min(first_above, n);
}

// IPv4 row `row`'s record index: from the row's own entry, read with the
// search's cache line, but for the few rows that escape to the overflow list.
inline uint32_t V4Record(const RangeView& v, uint64_t row) {
  uint32_t record = v.v4_rows[row] & 0xffff;
  if (record == kV4RecordEscape) [[unlikely]] {
    record = V4OverflowRecord(v, row);
  }
  return record;
}

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_RANGES_INTERNAL_RANGE_LOOKUP_H_
