#include "core/ranges/internal/range_format.h"

#include "absl/strings/str_cat.h"

namespace keel::core::core_internal {
namespace {

uint64_t PackedBytes(uint64_t count, uint32_t bits) {
  return (count * bits + 7) / 8 + kPackedSlackBytes;
}

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

[[gnu::cold, gnu::noinline]] absl::Status Corrupt(const std::string& what,
                                                  std::string_view why) {
  return absl::DataLossError(absl::StrCat(
      what,
      ": corrupt range table: ", absl::string_view(why.data(), why.size())));
}

}  // namespace

size_t PlaceSections(const RangeCounts& c,
                     SectionPlace places[kRangeSectionCount]) {
  uint64_t bytes[kRangeSectionCount];
  bytes[kV4Buckets] = (kV4BucketCount + 1) * sizeof(uint32_t);
  bytes[kV4GapBuckets] = kV4BucketCount / 8;
  bytes[kV4Tops] = (kV4BucketCount + 1) * sizeof(V4Tops);
  bytes[kV4Rows] = (c.v4_rows + kV4RowPadding) * sizeof(uint32_t);
  bytes[kV4Overflow] = c.v4_overflow * sizeof(V4Overflow);
  bytes[kV6Top] = CeilDiv(c.v6_rows, kV6TopStride) * sizeof(uint64_t);
  bytes[kV6Mid] = CeilDiv(c.v6_rows, kV6MidStride) * sizeof(uint64_t);
  bytes[kV6Keys] = c.v6_rows * sizeof(uint64_t);
  bytes[kV6Records] = PackedBytes(c.v6_rows, c.record_bits + 1);
  bytes[kV6Exceptions] = c.v6_exceptions * sizeof(V6Exception);
  bytes[kRecordAsns] = c.records * sizeof(uint32_t);
  bytes[kRecords] = c.records * sizeof(PackedRecord);
  bytes[kNames] = c.name_bytes;
  uint64_t offset = 0;
  for (int s = 0; s < kRangeSectionCount; ++s) {
    places[s].offset = offset;
    places[s].bytes = bytes[s];
    offset += (bytes[s] + kSectionAlignment - 1) & ~(kSectionAlignment - 1);
  }
  return offset;
}

absl::Status CheckCounts(const RangeCounts& c, const std::string& what) {
  constexpr uint64_t kMaxRows = uint64_t{1} << 32;
  if (c.v4_rows == 0 || c.v4_rows > kMaxRows || c.v6_rows == 0 ||
      c.v6_rows > kMaxRows || c.v6_exceptions >= c.v6_rows ||
      c.v4_overflow > c.v4_rows) {
    return Corrupt(what, "row counts out of range");
  }
  if (c.record_bits == 0 || c.record_bits > 32 || c.records == 0 ||
      c.records > (uint64_t{1} << c.record_bits)) {
    return Corrupt(what, "record count or width out of range");
  }
  if (c.names > c.records || c.name_bytes > kMaxRows) {
    return Corrupt(what, "name counts out of range");
  }
  return absl::OkStatus();
}

absl::Status ViewBlock(const uint8_t* block, size_t block_bytes,
                       const RangeCounts& c, const std::string& what,
                       RangeView* view,
                       void (*checked)(const void* data, size_t bytes)) {
  if (auto s = CheckCounts(c, what); !s.ok()) return s;
  SectionPlace places[kRangeSectionCount];
  size_t needed = PlaceSections(c, places);
  if (block_bytes < needed) {
    return Corrupt(what, absl::StrCat("sections need ", needed,
                                      " bytes, the block holds ", block_bytes));
  }
  auto at = [&](RangeSection s) { return block + places[s].offset; };
  auto done = [&](RangeSection s) {
    if (checked != nullptr) checked(at(s), places[s].bytes);
  };
  RangeView v;
  v.counts = c;
  v.v4_buckets = reinterpret_cast<const uint32_t*>(at(kV4Buckets));
  v.v4_gap_buckets = reinterpret_cast<const uint64_t*>(at(kV4GapBuckets));
  v.v4_tops = reinterpret_cast<const V4Tops*>(at(kV4Tops));
  v.v4_rows = reinterpret_cast<const uint32_t*>(at(kV4Rows));
  v.v4_overflow = reinterpret_cast<const V4Overflow*>(at(kV4Overflow));
  v.v6_top = reinterpret_cast<const uint64_t*>(at(kV6Top));
  v.v6_top_count = CeilDiv(c.v6_rows, kV6TopStride);
  v.v6_mid = reinterpret_cast<const uint64_t*>(at(kV6Mid));
  v.v6_mid_count = CeilDiv(c.v6_rows, kV6MidStride);
  v.v6_keys = reinterpret_cast<const uint64_t*>(at(kV6Keys));
  v.v6_records = at(kV6Records);
  v.v6_exceptions = reinterpret_cast<const V6Exception*>(at(kV6Exceptions));
  v.record_asns = reinterpret_cast<const uint32_t*>(at(kRecordAsns));
  v.records = reinterpret_cast<const PackedRecord*>(at(kRecords));
  v.names = reinterpret_cast<const char*>(at(kNames));

  // IPv4: a lookup's row is in [first_row[b] - 1, first_row[b + 1]).
  if (v.v4_buckets[0] != 0 || v.v4_buckets[kV4BucketCount] != c.v4_rows ||
      v.v4_buckets[1] == 0 || ((v.v4_rows[0] ^ kV4RowFlip) >> 16) != 0) {
    return Corrupt(what, "IPv4 index does not start at row 0");
  }
  for (uint32_t b = 0; b < kV4BucketCount; ++b) {
    if (v.v4_buckets[b] > v.v4_buckets[b + 1]) {
      return Corrupt(what, absl::StrCat("IPv4 bucket ", b, " out of order"));
    }
  }
  // Record indices held in the rows: all valid once the records fill 16
  // bits, else each checked, so that lookups need not clamp them.
  if (c.records < kV4RecordEscape) {
    for (uint64_t row = 0; row < c.v4_rows; ++row) {
      if ((v.v4_rows[row] & 0xffff) >= c.records) {
        return Corrupt(what,
                       absl::StrCat("IPv4 row ", row, " names no record"));
      }
    }
  }
  for (uint64_t i = 0; i < c.v4_overflow; ++i) {
    const V4Overflow& o = v.v4_overflow[i];
    if ((i > 0 && o.row <= v.v4_overflow[i - 1].row) || o.row >= c.v4_rows ||
        o.record < kV4RecordEscape || o.record >= c.records) {
      return Corrupt(what, "IPv4 overflow list out of order or range");
    }
  }
  done(kV4Buckets);
  done(kV4Rows);
  done(kV4Overflow);
  // IPv6: each sample equals the key it samples, so every search level
  // lands on a key no greater than the one sought.
  if (v.v6_keys[0] != 0) return Corrupt(what, "IPv6 rows do not start at ::");
  for (uint64_t i = 0; i < v.v6_mid_count; ++i) {
    if (v.v6_mid[i] != v.v6_keys[i * kV6MidStride]) {
      return Corrupt(what, "IPv6 index disagrees with its keys");
    }
  }
  for (uint64_t i = 0; i < v.v6_top_count; ++i) {
    if (v.v6_top[i] != v.v6_mid[i * (kV6TopStride / kV6MidStride)]) {
      return Corrupt(what, "IPv6 index disagrees with its keys");
    }
  }
  done(kV6Keys);
  done(kV6Mid);
  done(kV6Top);
  uint64_t previous_row = 0;
  for (uint64_t i = 0; i < c.v6_exceptions; ++i) {
    const V6Exception& e = v.v6_exceptions[i];
    if (e.row <= previous_row || e.row >= c.v6_rows || e.lo == 0) {
      return Corrupt(what, "IPv6 exception list out of order or range");
    }
    previous_row = e.row;
  }
  const PackedRecord& gap = v.records[0];
  if (v.record_asns[0] != 0 || gap.name_length != 0 ||
      gap.country != kCountryNone) {
    return Corrupt(what, "record 0 is not the gap");
  }
  for (uint64_t r = 0; r < c.records; ++r) {
    const PackedRecord& record = v.records[r];
    if ((record.country >= kCountryCodes && record.country != kCountryNone) ||
        uint64_t{record.name_offset} + record.name_length > c.name_bytes) {
      return Corrupt(what, absl::StrCat("record ", r, " out of range"));
    }
  }
  done(kV6Exceptions);
  done(kRecordAsns);
  done(kRecords);
  *view = v;
  return absl::OkStatus();
}

uint32_t V4OverflowRecord(const RangeView& view, uint64_t row) {
  const V4Overflow* o =
      FindRowEntry(view.v4_overflow, view.counts.v4_overflow, row);
  return o != nullptr ? o->record : 0;
}

}  // namespace keel::core::core_internal
