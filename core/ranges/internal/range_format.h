// The frozen RangeTable's memory layout, shared by the heap-built table, the
// image writer and the image reader: one block of sections, each 64-byte
// aligned, that a table answers from wherever the block lives.
//
// Sections (n4 / n6 = IPv4 / IPv6 rows; every address of a family lies in
// exactly one row; row 0 starts at the family's zero address; gaps are rows
// with record 0):
//   kV4Buckets    65,537 uint32: per top-16-bit value b, the first row
//                 starting at or after b<<16 (256 KiB: stays in L2)
//   kV4GapBuckets 65,536 bits (8 KiB, stays in L1), in uint64 words: bit b
//                 set when all of bucket b lies in one gap row, so most gap
//                 lookups end before the row search
//   kV4Tops       65,537 V4Tops: the top 16 bits of that row and of the row
//                 before it, for first/last without the full starts; read
//                 beside the search, never in its chain
//   kV4Rows       n4 + kV4RowPadding uint32: (low 16 bits of the row's start
//                 << 16 | record index, or kV4RecordEscape when it is that
//                 or more) ^ kV4RowFlip, so the search and the record share
//                 a cache line and entries order as signed numbers (SSE2
//                 compares only those); padding rows are ~0 ^ kV4RowFlip
//   kV4Overflow   V4Overflow per row holding kV4RecordEscape, by row: its
//                 record index. Records are numbered by the IPv4 space they
//                 cover, so these rows are few and rarely hit
//   kV6Top        ceil(n6/256) uint64: kV6Keys[256 i]
//   kV6Mid        ceil(n6/16) uint64: kV6Keys[16 i]
//   kV6Keys       n6 uint64: the top 64 bits of each row's start
//   kV6Records    n6 entries of record_bits + 1 bits, + 8 slack bytes: the
//                 record index << 1 | 1 when the row is in kV6Exceptions
//   kV6Exceptions V6Exception per row whose start is not /64-aligned, by row
//   kRecordAsns   uint32 per record: its AS number, apart from the rest so
//                 that a lookup wanting only that reads 4 bytes a record
//   kRecords      PackedRecord per record; record 0 is the gap
//   kNames        the name bytes, each record naming its slice
#ifndef KEEL_CORE_RANGES_INTERNAL_RANGE_FORMAT_H_
#define KEEL_CORE_RANGES_INTERNAL_RANGE_FORMAT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace keel::core::core_internal {

enum RangeSection : int {
  kV4Buckets,
  kV4GapBuckets,
  kV4Tops,
  kV4Rows,
  kV4Overflow,
  kV6Top,
  kV6Mid,
  kV6Keys,
  kV6Records,
  kV6Exceptions,
  kRecordAsns,
  kRecords,
  kNames,
  kRangeSectionCount
};

// The first bytes of an image file.
inline constexpr char kImageMagic[8] = {'K', 'E', 'E', 'L',
                                        'R', 'N', 'G', '\n'};

inline constexpr uint32_t kV4BucketCount = 1 << 16;
inline constexpr int kV6MidStride = 16;
inline constexpr int kV6TopStride = 256;
inline constexpr size_t kSectionAlignment = 64;
inline constexpr size_t kPackedSlackBytes = 8;
inline constexpr size_t kV4RowPadding = 16;  // a window scan may overrun
inline constexpr uint32_t kV4RowFlip = 0x80000000u;
inline constexpr uint32_t kV4RecordEscape = 0xffff;

inline constexpr uint16_t kCountryNone = 0xffff;  // codes 0..675: AA..ZZ
inline constexpr uint32_t kCountryCodes = 26 * 26;
inline constexpr uint32_t kMaxNameBytes = 0xffff;

struct PackedRecord {
  uint32_t name_offset;
  uint16_t name_length;
  uint16_t country;
};
static_assert(sizeof(PackedRecord) == 8);

struct V4Tops {
  uint16_t prev_top;   // top 16 bits of the bucket's first row - 1
  uint16_t first_top;  // top 16 bits of the bucket's first row
};
static_assert(sizeof(V4Tops) == 4);

struct V4Overflow {
  uint32_t row;
  uint32_t record;  // kV4RecordEscape or more
};
static_assert(sizeof(V4Overflow) == 8);

struct V6Exception {
  uint32_t row;
  uint32_t unused;
  uint64_t lo;  // the low 64 bits of the row's start, not zero
};
static_assert(sizeof(V6Exception) == 16);

// Every count a table's sections are sized by.
struct RangeCounts {
  uint64_t v4_rows = 0;
  uint64_t v6_rows = 0;
  uint64_t v6_exceptions = 0;
  uint64_t v4_overflow = 0;
  uint64_t records = 0;  // including record 0, the gap
  uint64_t names = 0;    // distinct names, for reports
  uint64_t name_bytes = 0;
  uint32_t record_bits = 1;
  uint32_t unused = 0;
};

struct SectionPlace {
  uint64_t offset = 0;  // from the block's start
  uint64_t bytes = 0;
};

// Where each section goes in a block for `counts`; returns the block size.
size_t PlaceSections(const RangeCounts& counts,
                     SectionPlace places[kRangeSectionCount]);

// Checks that `counts` are within the format's limits, so that section
// sizes computed from them cannot overflow.
absl::Status CheckCounts(const RangeCounts& counts, const std::string& what);

// Pointers into a block, checked so that lookups need no bounds checks.
struct RangeView {
  RangeCounts counts;
  const uint32_t* v4_buckets = nullptr;
  const uint64_t* v4_gap_buckets = nullptr;
  const V4Tops* v4_tops = nullptr;
  const uint32_t* v4_rows = nullptr;
  const V4Overflow* v4_overflow = nullptr;
  const uint64_t* v6_top = nullptr;
  uint64_t v6_top_count = 0;
  const uint64_t* v6_mid = nullptr;
  uint64_t v6_mid_count = 0;
  const uint64_t* v6_keys = nullptr;
  const uint8_t* v6_records = nullptr;
  const V6Exception* v6_exceptions = nullptr;
  const uint32_t* record_asns = nullptr;
  const PackedRecord* records = nullptr;
  const char* names = nullptr;
};

// Points a view into `block` (laid out by PlaceSections for `counts`) and
// checks every index a lookup follows: bucket bounds, sample keys, exception
// and overflow rows, record fields and names. `what` names the source in
// errors. When `checked` is given, it is called with each array once the checks
// are done reading it (a mapped image drops those pages from the process).
absl::Status ViewBlock(const uint8_t* block, size_t block_bytes,
                       const RangeCounts& counts, const std::string& what,
                       RangeView* view,
                       void (*checked)(const void* data,
                                       size_t bytes) = nullptr);

// The entry for `row` among `count` entries sorted by their `row` field
// (the IPv4 overflow and IPv6 exception lists), or null.
template <class Entry>
const Entry* FindRowEntry(const Entry* entries, uint64_t count, uint64_t row) {
  const Entry* end = entries + count;
  const Entry* it = std::lower_bound(
      entries, end, row, [](const Entry& e, uint64_t r) { return e.row < r; });
  return it != end && it->row == row ? it : nullptr;
}

// The record index of IPv4 row `row`, whose entry holds kV4RecordEscape:
// found in the overflow list (the gap, 0, if a forged image left it out).
uint32_t V4OverflowRecord(const RangeView& view, uint64_t row);

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_RANGES_INTERNAL_RANGE_FORMAT_H_
