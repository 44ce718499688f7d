#include "core/ranges/range_table_builder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/io/line_reader.h"
#include "core/ranges/internal/range_feed.h"
#include "core/ranges/internal/range_format.h"
#include "core/ranges/internal/range_paint.h"
#include "core/ranges/internal/range_storage.h"

namespace keel::core {

using core_internal::PaintedRange;
using core_internal::PendingRow;

namespace {

using u128 = unsigned __int128;

absl::string_view Absl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

[[gnu::cold, gnu::noinline]] absl::Status LineError(std::string_view path,
                                                    int64_t line,
                                                    absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(Absl(path), ":", line, ": ", why));
}

uint16_t CountryCode(std::string_view country) {
  if (country.empty()) return core_internal::kNoCountry;
  auto letter = [](char c) { return (c | 0x20) - 'a'; };  // either case
  return static_cast<uint16_t>(letter(country[0]) * 26 + letter(country[1]));
}

// A frozen row: where it starts and its record (0 for a gap).
struct FrozenRow {
  u128 start;
  uint32_t record;
};

// Rows covering the whole family, 0..max: the ranges, with gap rows
// between them.
std::vector<FrozenRow> FillGaps(const std::vector<PaintedRange>& ranges,
                                const std::vector<uint32_t>& records,
                                u128 max) {
  std::vector<FrozenRow> rows;
  rows.reserve(ranges.size() * 2 + 1);
  u128 cursor = 0;
  bool open_to_max = true;
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].first > cursor) rows.push_back({cursor, 0});
    rows.push_back({ranges[i].first, records[i]});
    if (ranges[i].last == max) {
      open_to_max = false;
      break;
    }
    cursor = ranges[i].last + 1;
  }
  if (open_to_max) rows.push_back({cursor, 0});
  return rows;
}

// A record as built: its AS number and the rest, stored apart.
struct BuiltRecord {
  uint32_t asn;
  core_internal::PackedRecord packed;
};

// Renumbers records by the IPv4 addresses they cover, most first (then by
// IPv6 ranges), so that the records random lookups land on most sit
// together in a few hot cache lines. Record 0, the gap, stays first.
void OrderByCoverage(const std::vector<PaintedRange> (&painted)[2],
                     std::vector<uint32_t> (&range_records)[2],
                     std::vector<BuiltRecord>* records) {
  std::vector<std::pair<u128, uint32_t>> weight(records->size());
  for (uint32_t r = 0; r < weight.size(); ++r) weight[r] = {0, r};
  for (size_t i = 0; i < painted[0].size(); ++i) {
    weight[range_records[0][i]].first +=
        (painted[0][i].last - painted[0][i].first + 1) << 32;
  }
  for (uint32_t r : range_records[1]) weight[r].first += 1;
  std::sort(weight.begin() + 1, weight.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::vector<uint32_t> renumber(records->size());
  std::vector<BuiltRecord> ordered(records->size());
  for (uint32_t r = 0; r < weight.size(); ++r) {
    renumber[weight[r].second] = r;
    ordered[r] = (*records)[weight[r].second];
  }
  for (auto& family : range_records) {
    for (uint32_t& r : family) r = renumber[r];
  }
  *records = std::move(ordered);
}

void WritePacked(uint8_t* packed, uint64_t index, uint32_t bits,
                 uint64_t value) {
  uint64_t bit = index * bits;
  uint64_t word;
  std::memcpy(&word, packed + (bit >> 3), sizeof(word));
  word |= value << (bit & 7);
  std::memcpy(packed + (bit >> 3), &word, sizeof(word));
}

}  // namespace

absl::StatusOr<OverlapPolicy> ParseOverlapPolicy(std::string_view text) {
  if (text == "error") return OverlapPolicy::kError;
  if (text == "first") return OverlapPolicy::kFirst;
  if (text == "last") return OverlapPolicy::kLast;
  return absl::InvalidArgumentError(absl::StrCat(
      "overlap policy \"", Absl(text), "\" is not error, first or last"));
}

RangeTableBuilder::RangeTableBuilder(OverlapPolicy overlap)
    : overlap_(overlap), names_(1) {}
RangeTableBuilder::~RangeTableBuilder() = default;
RangeTableBuilder::RangeTableBuilder(RangeTableBuilder&&) noexcept = default;
RangeTableBuilder& RangeTableBuilder::operator=(RangeTableBuilder&&) noexcept =
    default;

size_t RangeTableBuilder::rows() const { return rows_.size(); }

uint32_t RangeTableBuilder::NameId(std::string_view name) {
  if (name.empty()) return 0;
  auto [it, inserted] =
      name_ids_.try_emplace(Absl(name), static_cast<uint32_t>(names_.size()));
  if (inserted) names_.emplace_back(name);
  return it->second;
}

uint32_t RangeTableBuilder::SourceId(std::string_view source) {
  for (uint32_t i = 0; i < sources_.size(); ++i) {
    if (sources_[i] == source) return i;
  }
  sources_.emplace_back(source);
  return static_cast<uint32_t>(sources_.size() - 1);
}

absl::Status RangeTableBuilder::AddFile(std::string_view path) {
  auto reader = LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  uint32_t source = SourceId(path);
  size_t rows_before = rows_.size();
  if (struct stat st;
      !reader->is_gzip() && stat(reader->path().c_str(), &st) == 0) {
    // Feed rows take 40 bytes or more; reserving spares the regrowth copies.
    rows_.reserve(rows_before + static_cast<size_t>(st.st_size) / 40);
    name_ids_.reserve(name_ids_.size() + static_cast<size_t>(st.st_size) / 400);
  }
  std::optional<core_internal::FeedLayout> layout;
  core_internal::FeedRow row;
  std::string scratch;
  std::string_view line;
  absl::Status status;
  while (reader->Next(&line)) {
    if (line.empty()) continue;
    if (!layout) {
      auto detected = core_internal::DetectFeedLayout(line);
      if (!detected.ok()) {
        status =
            LineError(path, reader->line_number(), detected.status().message());
        break;
      }
      layout = *detected;
    }
    status = core_internal::ParseFeedLine(line, *layout, &row, &scratch);
    if (!status.ok()) {
      status = LineError(path, reader->line_number(), status.message());
      break;
    }
    const RangeFields& f = row.fields;
    rows_.push_back(
        PendingRow{row.first.bits(), row.last.bits(), f.asn, NameId(f.name),
                   CountryCode(f.country),
                   static_cast<uint8_t>(
                       (f.sets_as ? core_internal::kSetsAs : 0) |
                       (f.sets_country ? core_internal::kSetsCountry : 0)),
                   row.first.is_v6(), source,
                   static_cast<uint32_t>(rows_.size()), reader->line_number()});
  }
  if (status.ok()) status = reader->status();
  if (!status.ok()) rows_.resize(rows_before);
  return status;
}

absl::Status RangeTableBuilder::AddRange(IpAddress first, IpAddress last,
                                         const RangeFields& fields,
                                         std::string_view source,
                                         int64_t line) {
  if (first.is_v4() != last.is_v4()) {
    return absl::InvalidArgumentError(
        absl::StrCat("range ", first.ToString(), "-", last.ToString(),
                     ": start and end are of different families"));
  }
  if (last < first) {
    return absl::InvalidArgumentError(absl::StrCat("range ", first.ToString(),
                                                   "-", last.ToString(),
                                                   ": end is before start"));
  }
  const std::string_view c = fields.country;
  auto is_letter = [](char ch) {
    return (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z';
  };
  if (!c.empty() && (c.size() != 2 || !is_letter(c[0]) || !is_letter(c[1]))) {
    return absl::InvalidArgumentError(
        absl::StrCat("range ", first.ToString(), "-", last.ToString(),
                     ": country \"", Absl(c), "\" is not two letters"));
  }
  rows_.push_back(
      PendingRow{first.bits(), last.bits(), fields.asn, NameId(fields.name),
                 CountryCode(c),
                 static_cast<uint8_t>(
                     (fields.sets_as ? core_internal::kSetsAs : 0) |
                     (fields.sets_country ? core_internal::kSetsCountry : 0)),
                 first.is_v6(), SourceId(source),
                 static_cast<uint32_t>(rows_.size()), line});
  return absl::OkStatus();
}

absl::StatusOr<RangeTable> RangeTableBuilder::Build() && {
  namespace ci = core_internal;
  std::vector<PaintedRange> painted[2];
  for (int v6 = 0; v6 < 2; ++v6) {
    if (auto s =
            ci::PaintRanges(rows_, v6 == 1, overlap_, sources_, &painted[v6]);
        !s.ok()) {
      return s;
    }
  }
  std::vector<PendingRow>().swap(rows_);

  // Records and the names they use, deduplicated; record 0 is the gap.
  std::vector<BuiltRecord> records = {{0, {0, 0, ci::kCountryNone}}};
  absl::flat_hash_map<uint64_t, uint32_t> record_ids;  // (asn, name, country)
  constexpr uint32_t kUnplaced = ~uint32_t{0};
  std::vector<uint32_t> name_offsets(names_.size(), kUnplaced);
  name_offsets[0] = 0;
  std::string pool;
  std::vector<uint32_t> range_records[2];
  for (int v6 = 0; v6 < 2; ++v6) {
    range_records[v6].reserve(painted[v6].size());
    for (const PaintedRange& r : painted[v6]) {
      const std::string& name = names_[r.name];
      if (name_offsets[r.name] == kUnplaced) {
        if (name.size() > ci::kMaxNameBytes || pool.size() > 0xffffffffu) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "name \"", name.substr(0, 40), "...\" is longer than ",
              ci::kMaxNameBytes, " bytes, or the names exceed 4 GiB"));
        }
        name_offsets[r.name] = static_cast<uint32_t>(pool.size());
        pool += name;
      }
      uint64_t key =
          uint64_t{r.asn} | uint64_t{r.country} << 32 | uint64_t{r.name} << 48;
      auto [it, inserted] =
          record_ids.try_emplace(key, static_cast<uint32_t>(records.size()));
      if (inserted) {
        records.push_back(
            {r.asn,
             {name_offsets[r.name], static_cast<uint16_t>(name.size()),
              r.country == ci::kNoCountry ? ci::kCountryNone : r.country}});
      }
      range_records[v6].push_back(it->second);
    }
  }
  OrderByCoverage(painted, range_records, &records);
  std::vector<FrozenRow> rows4 =
      FillGaps(painted[0], range_records[0], 0xffffffffu);
  std::vector<FrozenRow> rows6 =
      FillGaps(painted[1], range_records[1], ~static_cast<u128>(0));

  ci::RangeCounts counts;
  counts.v4_rows = rows4.size();
  for (const FrozenRow& r : rows4) {
    counts.v4_overflow += r.record >= ci::kV4RecordEscape;
  }
  counts.v6_rows = rows6.size();
  for (const FrozenRow& r : rows6) {
    counts.v6_exceptions += static_cast<uint64_t>(r.start) != 0;
  }
  counts.records = records.size();
  counts.names = static_cast<uint64_t>(
      std::count_if(name_offsets.begin() + 1, name_offsets.end(),
                    [](uint32_t o) { return o != kUnplaced; }));
  counts.name_bytes = pool.size();
  counts.record_bits =
      std::max<uint32_t>(1, std::bit_width(uint64_t{records.size() - 1}));

  ci::SectionPlace places[ci::kRangeSectionCount];
  size_t block_bytes = ci::PlaceSections(counts, places);
  uint8_t* block = nullptr;
  auto storage = ci::AllocateRangeBlock(block_bytes, &block);
  auto at = [&](ci::RangeSection s) { return block + places[s].offset; };

  auto* buckets = reinterpret_cast<uint32_t*>(at(ci::kV4Buckets));
  auto* tops = reinterpret_cast<ci::V4Tops*>(at(ci::kV4Tops));
  auto* v4_rows = reinterpret_cast<uint32_t*>(at(ci::kV4Rows));
  auto top16 = [&](size_t row) {
    return static_cast<uint16_t>(rows4[row].start >> 16);
  };
  size_t row = 0;
  for (uint32_t b = 0; b <= ci::kV4BucketCount; ++b) {
    while (row < rows4.size() && (rows4[row].start >> 16) < b) ++row;
    buckets[b] = static_cast<uint32_t>(row);
    tops[b].prev_top = row > 0 ? top16(row - 1) : 0;
    tops[b].first_top = row < rows4.size() ? top16(row) : 0;
  }
  auto* gap_buckets = reinterpret_cast<uint64_t*>(at(ci::kV4GapBuckets));
  for (uint32_t b = 0; b < ci::kV4BucketCount; ++b) {
    // The row holding the bucket's first address, and then no other.
    size_t first = buckets[b];
    if (first == buckets[b + 1] || rows4[first].start != u128{b} << 16) {
      --first;  // row 0 starts at 0, so bucket 0 does not get here
    }
    if (rows4[first].record == 0 && first + 1 >= buckets[b + 1]) {
      gap_buckets[b >> 6] |= uint64_t{1} << (b & 63);
    }
  }
  auto* overflow = reinterpret_cast<ci::V4Overflow*>(at(ci::kV4Overflow));
  for (size_t i = 0; i < rows4.size(); ++i) {
    uint32_t record = rows4[i].record;
    if (record >= ci::kV4RecordEscape) {
      *overflow++ = {static_cast<uint32_t>(i), record};
      record = ci::kV4RecordEscape;
    }
    v4_rows[i] =
        ci::kV4RowFlip ^ (static_cast<uint32_t>(rows4[i].start) << 16 | record);
  }
  for (size_t i = 0; i < ci::kV4RowPadding; ++i) {
    v4_rows[rows4.size() + i] = ~uint32_t{0} ^ ci::kV4RowFlip;
  }

  auto* v6_keys = reinterpret_cast<uint64_t*>(at(ci::kV6Keys));
  auto* v6_mid = reinterpret_cast<uint64_t*>(at(ci::kV6Mid));
  auto* v6_top = reinterpret_cast<uint64_t*>(at(ci::kV6Top));
  auto* exceptions = reinterpret_cast<ci::V6Exception*>(at(ci::kV6Exceptions));
  for (size_t i = 0; i < rows6.size(); ++i) {
    v6_keys[i] = static_cast<uint64_t>(rows6[i].start >> 64);
    if (i % ci::kV6MidStride == 0) v6_mid[i / ci::kV6MidStride] = v6_keys[i];
    if (i % ci::kV6TopStride == 0) v6_top[i / ci::kV6TopStride] = v6_keys[i];
    if (auto lo = static_cast<uint64_t>(rows6[i].start); lo != 0) {
      *exceptions++ = {static_cast<uint32_t>(i), 0, lo};
    }
    WritePacked(at(ci::kV6Records), i, counts.record_bits + 1,
                uint64_t{rows6[i].record} << 1 |
                    (static_cast<uint64_t>(rows6[i].start) != 0));
  }

  auto* asns = reinterpret_cast<uint32_t*>(at(ci::kRecordAsns));
  auto* packed = reinterpret_cast<ci::PackedRecord*>(at(ci::kRecords));
  for (size_t i = 0; i < records.size(); ++i) {
    asns[i] = records[i].asn;
    packed[i] = records[i].packed;
  }
  std::memcpy(at(ci::kNames), pool.data(), pool.size());

  ci::RangeView view;
  if (auto s = ci::ViewBlock(block, block_bytes, counts, "built table", &view);
      !s.ok()) {
    return absl::InternalError(s.message());  // a bug in the code above
  }
  size_t bytes = storage->bytes();
  return RangeTable(std::move(storage), view, bytes);
}

absl::StatusOr<RangeTable> LoadRangeTable(const std::vector<std::string>& paths,
                                          OverlapPolicy overlap,
                                          ImageHolding holding) {
  if (paths.empty()) return absl::InvalidArgumentError("no table given");
  auto is_image = [](const std::string& path) {
    char head[sizeof(core_internal::kImageMagic)] = {};
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;  // the loader reports why
    // Only a regular file can be an image (it is mapped); peeking at a pipe
    // (`-`, /dev/stdin) would take bytes that the feed reader then misses.
    struct stat st;
    bool image =
        fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        read(fd, head, sizeof(head)) == sizeof(head) &&
        std::memcmp(head, core_internal::kImageMagic, sizeof(head)) == 0;
    close(fd);
    return image;
  };
  for (const std::string& path : paths) {
    if (!is_image(path)) continue;
    if (paths.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " is an image; an image cannot be combined with other tables"));
    }
    return RangeTable::OpenImage(path, holding);
  }
  RangeTableBuilder builder(overlap);
  for (const std::string& path : paths) {
    size_t rows_before = builder.rows();
    if (auto s = builder.AddFile(path); !s.ok()) return s;
    // An empty feed is a failed download far more often than a wish for a
    // table that answers nothing (or only for the other family).
    if (builder.rows() == rows_before) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": no ranges (an empty feed)"));
    }
  }
  return std::move(builder).Build();
}

}  // namespace keel::core
