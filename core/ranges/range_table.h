// RangeTable: an immutable, compact map from IP address ranges to records
// (AS number, country, name), such as the ip2asn feeds. Built by
// RangeTableBuilder (range_table_builder.h) or opened from an image file.
//
// Use it to answer "who holds this address" on a hot path, IPv4 and IPv6 in
// one table, compact enough to stay in cache (README gives the figures);
// Save() it as an image that OpenImage serves without parsing, from the
// file's mapping or from a copy (ImageHolding says when to use which).
//
//   auto table = keel::core::RangeTable::OpenImage(
//       "ip2asn.keel", keel::core::ImageHolding::kCopied);
//   if (!table.ok()) return table.status();
//   auto match = table->Lookup(*keel::core::IpAddress::Parse("1.1.1.1"));
//   if (match) printf("AS%u %.*s\n", match->record.asn, ...);
//
// Layout (see core/ranges/internal/range_format.h): gaps are rows too, so a
// row's end is the next row's start and only starts are stored. IPv4 rows are
// one uint32 each, the start's low 16 bits beside a 16-bit record index (the
// rare larger index escapes to an overflow list), found through a
// 65,536-bucket index on the top 16 bits (256 KiB) and one SSE2 window
// compare: a lookup reads the bucket, one line of rows and the record (or
// only a bit, for the wholly unrouted /16s, from an 8 KiB bitmap). IPv6
// starts keep their top 64 bits behind a two-level sample index, with an
// exception list for the few starts inside a /64. Records (AS number;
// country and name slice; 4 + 8 bytes in two arrays) are deduplicated and
// numbered by the IPv4 space they cover, so the ones lookups hit most share
// lines; names are deduplicated into one pool. A table built from feeds (or
// a copied image) lives in one anonymous block, 2 MiB aligned and advised
// onto huge pages.
//
// Thread safety: immutable; any number of threads may look up at once.
// Ownership: a table owns its memory (its block, or a read-only file
// mapping); records and matches point into it and live as long as the
// table.
//
// Replacing an image: write the new one under another name in the same
// directory and rename() it over the old (Save() does exactly that), then
// open it again (restart keel serve). Never truncate or write into an image
// in place (`cp new.keel live.keel`, `truncate`): a kMapped table answers
// from the file's pages, so it would crash or answer from half-written
// data; a kCopied table does not notice.
#ifndef KEEL_CORE_RANGES_RANGE_TABLE_H_
#define KEEL_CORE_RANGES_RANGE_TABLE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ip.h"
#include "core/ranges/internal/range_format.h"
#include "core/ranges/internal/range_lookup.h"

namespace keel::core {

namespace core_internal {
class RangeStorage;
}  // namespace core_internal

// What a range holds. A field the table lacks for the range is 0 or empty
// (AS 0 is reserved and never announced, RFC 7607).
struct RangeRecord {
  uint32_t asn = 0;
  std::string_view country;  // two upper-case letters, or empty
  std::string_view name;

  friend bool operator==(const RangeRecord&, const RangeRecord&) = default;
};

// A lookup's answer: the record and the range holding the address.
struct RangeMatch {
  RangeRecord record;
  IpAddress first;
  IpAddress last;
};

// How a table opened from an image holds it.
enum class ImageHolding {
  // Answers from a read-only shared mapping of the file: opening reads only
  // to check it and the table costs no memory of its own, but the file must
  // not change while the table lives. Truncating it makes the next lookup
  // that touches a lost page die of SIGBUS; writing into it in place changes
  // the answers and can send a lookup outside the table (MAP_PRIVATE would
  // not help: pages not yet copied still follow the file). For short-lived
  // processes (keel lookup) and images replaced only by rename.
  kMapped,
  // Reads the file into anonymous memory (huge pages, like a table built
  // from feeds) and checks the copy: opening costs one read of the file and
  // the table holds its own table_bytes(), but nothing done to the file
  // afterwards reaches it. For long-lived processes (keel serve).
  kCopied,
};

class RangeTable {
 public:
  // Opens an image written by Save(), held as `holding` says. Refuses, with
  // an error naming the file and the fault, a file that is not an image, is
  // truncated, has a bad checksum, or whose indices point outside it.
  static absl::StatusOr<RangeTable> OpenImage(std::string_view path,
                                              ImageHolding holding);
  static absl::StatusOr<RangeTable> OpenMapped(std::string_view path) {
    return OpenImage(path, ImageHolding::kMapped);
  }

  RangeTable(RangeTable&&) noexcept;
  RangeTable& operator=(RangeTable&&) noexcept;
  ~RangeTable();

  // The range holding `address`, or nullopt when no range does (a gap).
  // The IPv4 lookup is inline and all but branch-free, so a loop of lookups
  // overlaps their cache misses and skips the fields it does not read.
  std::optional<RangeMatch> Lookup(Ipv4 address) const;
  std::optional<RangeMatch> Lookup(Ipv6 address) const;
  std::optional<RangeMatch> Lookup(const IpAddress& address) const {
    return address.is_v4() ? Lookup(address.v4()) : Lookup(address.v6());
  }

  // out[i] = the record holding addresses[i], or nullopt for a gap. Runs
  // several searches interleaved, so their cache misses overlap.
  // REQUIRES: out.size() >= addresses.size().
  void LookupBatch(std::span<const Ipv4> addresses,
                   std::span<std::optional<RangeRecord>> out) const;
  void LookupBatch(std::span<const Ipv6> addresses,
                   std::span<std::optional<RangeRecord>> out) const;

  // Writes the table as an image file, replacing `path` atomically and
  // durably: written to `path`.tmp, fsynced, renamed over `path`, and the
  // directory fsynced (core/io/atomic_file.h), so that after a crash
  // `path` holds the old image or the new one, whole. One writer per path at
  // a time. Errors name the file and the system call; a full disk is
  // ResourceExhausted.
  absl::Status Save(std::string_view path) const;

  // Calls fn(first, last, record) for every range with a record, IPv4 then
  // IPv6, in address order.
  void ForEachRange(const std::function<void(const IpAddress&, const IpAddress&,
                                             const RangeRecord&)>& fn) const;

  // Every byte the table holds: its block (or the whole mapped file).
  size_t table_bytes() const { return table_bytes_; }
  // Rows, gaps included.
  size_t v4_rows() const { return view_.counts.v4_rows; }
  size_t v6_rows() const { return view_.counts.v6_rows; }
  // Distinct records (the gap excluded) and names.
  size_t records() const { return view_.counts.records - 1; }
  size_t names() const { return view_.counts.names; }
  // Whether it answers from a file mapping (ImageHolding::kMapped).
  bool is_mapped() const;

 private:
  friend class RangeTableBuilder;

  RangeTable(std::unique_ptr<core_internal::RangeStorage> storage,
             const core_internal::RangeView& view, size_t table_bytes);

  // Record `index`, which must be a record: IPv4 rows' indices are checked
  // at open. FillRecord clamps an unchecked (IPv6) index into the table.
  void FillV4Record(uint32_t index, RangeRecord* record) const;
  void FillRecord(uint32_t index, RangeRecord* record) const;
  // IPv6 row `row`'s record index << 1 | 1 if its start is not /64-aligned.
  uint64_t V6Entry(uint64_t row) const;
  uint64_t V6Row(Ipv6 address) const;
  Ipv6 V6Start(uint64_t row) const;

  std::unique_ptr<core_internal::RangeStorage> storage_;
  core_internal::RangeView view_;
  size_t table_bytes_ = 0;
};

// Implementation details follow.

inline void RangeTable::FillV4Record(uint32_t index, RangeRecord* r) const {
  const core_internal::PackedRecord& packed = view_.records[index];
  r->asn = view_.record_asns[index];
  const bool has_country = packed.country < core_internal::kCountryCodes;
  r->country = std::string_view(
      core_internal::kCountryLetters.letters +
          2 * core_internal::Select(has_country, packed.country, 0),
      core_internal::Select(has_country, 2, 0));
  r->name =
      std::string_view(view_.names + packed.name_offset, packed.name_length);
}

inline void RangeTable::FillRecord(uint32_t index, RangeRecord* r) const {
  // IPv6 indices are not checked at open (that would read every row);
  // clamping keeps a forged one inside the table at the cost of a
  // conditional move.
  FillV4Record(std::min<uint64_t>(index, view_.counts.records - 1), r);
}

inline std::optional<RangeMatch> RangeTable::Lookup(Ipv4 address) const {
  using core_internal::Select;
  using core_internal::V4Key;
  const core_internal::RangeView& v = view_;
  const uint32_t a = address.bits();
  const uint32_t b = a >> 16;
  // Most gap addresses lie in a /16 that is all gap: the bitmap settles
  // those before the row search, so a mispredicted test of the answer costs
  // a few cycles rather than the search's cache misses.
  if (core_internal::V4GapBucket(v, b)) return std::nullopt;
  const uint32_t begin = v.v4_buckets[b];
  const uint32_t end = v.v4_buckets[b + 1];
  // With no start in its bucket at or below the address, the row is the
  // last one before the bucket.
  const uint64_t row =
      core_internal::CountV4(v.v4_rows, begin, end, a << 16 | 0xffff) - 1;
  const uint32_t record = core_internal::V4Record(v, row);
  // Every field is read, gap or not (record 0 and the padding row after the
  // last are valid), and chosen by Select; only the return tests the gap.
  const core_internal::V4Tops* tops = v.v4_tops + b;
  const bool before_bucket = row < begin;
  const uint32_t top = Select(before_bucket, tops[0].prev_top, b);
  const uint32_t next_top =
      Select(row + 1 < end, b,
             Select(before_bucket, tops[0].first_top, tops[1].first_top));
  const uint32_t next_start = next_top << 16 | V4Key(v.v4_rows[row + 1]);
  RangeMatch match;
  FillV4Record(record, &match.record);
  match.first = Ipv4(top << 16 | V4Key(v.v4_rows[row]));
  match.last =
      Ipv4(Select(row + 1 == v.counts.v4_rows, 0xffffffffu, next_start - 1));
  if (record == 0) return std::nullopt;
  return match;
}

}  // namespace keel::core

#endif  // KEEL_CORE_RANGES_RANGE_TABLE_H_
