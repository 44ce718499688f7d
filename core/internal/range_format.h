// The frozen RangeTable's memory layout, shared by the heap-built table, the
// image writer and the image reader: one block of sections, each 64-byte
// aligned, that a table answers from wherever the block lives.
//
// Sections (n4 / n6 = IPv4 / IPv6 rows; every address of a family lies in
// exactly one row; row 0 starts at the family's zero address; gaps are rows
// with record 0):
//   kV4Buckets    65,537 V4Bucket: per top-16-bit value b, the first row
//                 starting at or after b<<16, and the top 16 bits of that row
//                 and of the row before it (for first/last without the
//                 full starts)
//   kV4Keys       n4 uint16: the low 16 bits of each row's start
//   kV4Records    n4 record indices, record_bits bits each, + 8 slack bytes
//   kV6Top        ceil(n6/256) uint64: kV6Keys[256 i]
//   kV6Mid        ceil(n6/16) uint64: kV6Keys[16 i]
//   kV6Keys       n6 uint64: the top 64 bits of each row's start
//   kV6Records    n6 record indices, as kV4Records
//   kV6Exceptions V6Exception per row whose start is not /64-aligned, by row
//   kRecords      uint64 per record: asn | country << 32 | name << 42;
//                 record 0 is the gap
//   kNameOffsets  names + 1 uint32: name i is [offset[i], offset[i+1])
//   kNames        the name bytes; name 0 is empty
#ifndef KEEL_CORE_INTERNAL_RANGE_FORMAT_H_
#define KEEL_CORE_INTERNAL_RANGE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace keel::core::core_internal {

enum RangeSection : int {
  kV4Buckets,
  kV4Keys,
  kV4Records,
  kV6Top,
  kV6Mid,
  kV6Keys,
  kV6Records,
  kV6Exceptions,
  kRecords,
  kNameOffsets,
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

// Record fields packed in a uint64.
inline constexpr int kCountryShift = 32;
inline constexpr int kNameShift = 42;
inline constexpr uint32_t kCountryNone = 1023;  // codes 0..675 are AA..ZZ
inline constexpr uint32_t kCountryCodes = 26 * 26;
inline constexpr uint64_t kMaxNames = uint64_t{1} << 22;

struct V4Bucket {
  uint32_t first_row;
  uint16_t prev_top;   // top 16 bits of row first_row - 1
  uint16_t first_top;  // top 16 bits of row first_row
};
static_assert(sizeof(V4Bucket) == 8);

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
  uint64_t records = 0;  // including record 0, the gap
  uint64_t names = 0;    // including name 0, the empty name
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
  const V4Bucket* v4_buckets = nullptr;
  const uint16_t* v4_keys = nullptr;
  const uint8_t* v4_records = nullptr;
  const uint64_t* v6_top = nullptr;
  uint64_t v6_top_count = 0;
  const uint64_t* v6_mid = nullptr;
  uint64_t v6_mid_count = 0;
  const uint64_t* v6_keys = nullptr;
  const uint8_t* v6_records = nullptr;
  const V6Exception* v6_exceptions = nullptr;
  const uint64_t* records = nullptr;
  const uint32_t* name_offsets = nullptr;
  const char* names = nullptr;
};

// Points a view into `block` (laid out by PlaceSections for `counts`) and
// checks every index a lookup follows: bucket bounds, sample keys, exception
// rows, record fields, name offsets. `what` names the source in errors.
absl::Status ViewBlock(const uint8_t* block, size_t block_bytes,
                       const RangeCounts& counts, const std::string& what,
                       RangeView* view);

// A 64-bit checksum of `bytes` (a four-lane multiply-rotate hash in the
// manner of XXH64, ~10 GB/s; not compatible with any published hash).
uint64_t Checksum64(const void* data, size_t bytes);

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_INTERNAL_RANGE_FORMAT_H_
