#include "core/ranges/internal/range_paint.h"

#include <algorithm>
#include <queue>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/ip.h"

namespace keel::core::core_internal {
namespace {

using u128 = unsigned __int128;
constexpr u128 kMax128 = ~static_cast<u128>(0);
constexpr uint32_t kNoRow = ~uint32_t{0};

// A stretch of addresses won by one row.
struct Segment {
  u128 first;
  u128 last;
  uint32_t row;
};

std::string Address(u128 bits, bool v6) {
  return v6 ? Ipv6(bits).ToString()
            : Ipv4(static_cast<uint32_t>(bits)).ToString();
}

std::string Where(const PendingRow& row,
                  const std::vector<std::string>& sources) {
  std::string source = row.source < sources.size() ? sources[row.source] : "";
  return absl::StrCat(source.empty() ? "range" : source, ":", row.line, " (",
                      Address(row.first, row.v6), "-",
                      Address(row.last, row.v6), ")");
}

// The fields two rows both set but to different values, or nullptr.
const char* DifferentFields(const PendingRow& a, const PendingRow& b) {
  const uint8_t both = a.groups & b.groups;
  if ((both & kSetsAs) != 0 && (a.asn != b.asn || a.name != b.name)) {
    return "AS number and name";
  }
  if ((both & kSetsCountry) != 0 && a.country != b.country) return "country";
  return nullptr;
}

[[gnu::cold, gnu::noinline]] absl::Status OverlapError(
    const PendingRow& a, const PendingRow& b, uint8_t group,
    const std::vector<std::string>& sources) {
  const PendingRow& later = a.order > b.order ? a : b;
  const PendingRow& earlier = a.order > b.order ? b : a;
  const char* fields = group == kSetsAs ? "AS number and name" : "country";
  std::string where = Where(later, sources);
  std::string source =
      earlier.source < sources.size() ? sources[earlier.source] : "";
  std::string other =
      absl::StrCat(source.empty() ? "range" : source, ":", earlier.line);
  if (a.first != b.first || a.last != b.last) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " overlaps ", Where(earlier, sources), " in the ", fields,
        " fields; --overlap first or last decides which wins"));
  }
  // The same range twice: most often a feed given or concatenated twice.
  const char* different = DifferentFields(a, b);
  if (different == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " duplicates ", other,
                     " (the same range and values); --overlap first or last "
                     "accepts repeated rows"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, " repeats the range of ", other, " with another ",
                   different, "; --overlap first or last decides which wins"));
}

// Resolves one group's rows (indices sorted by first address, then input
// order) into disjoint segments.
absl::Status ResolveGroup(const std::vector<PendingRow>& rows,
                          const std::vector<uint32_t>& sorted,
                          OverlapPolicy policy, uint8_t group,
                          const std::vector<std::string>& sources,
                          std::vector<Segment>* out) {
  bool overlap = false;
  uint32_t widest = kNoRow;  // the row reaching furthest so far
  for (uint32_t index : sorted) {
    const PendingRow& row = rows[index];
    if (widest != kNoRow && row.first <= rows[widest].last) {
      if (policy == OverlapPolicy::kError) {
        return OverlapError(row, rows[widest], group, sources);
      }
      overlap = true;
      break;
    }
    widest = index;
  }
  out->clear();
  if (!overlap) {
    out->reserve(sorted.size());
    for (uint32_t index : sorted) {
      out->push_back({rows[index].first, rows[index].last, index});
    }
    return absl::OkStatus();
  }
  // Sweep: at each boundary the winner is the highest-priority row still
  // open; rows that ended are dropped when they surface.
  auto priority = [&](uint32_t index) {
    return policy == OverlapPolicy::kLast ? rows[index].order
                                          : ~rows[index].order;
  };
  std::priority_queue<std::pair<uint32_t, uint32_t>> open;
  size_t next = 0;
  u128 cursor = 0;
  while (next < sorted.size() || !open.empty()) {
    if (open.empty()) cursor = rows[sorted[next]].first;
    while (next < sorted.size() && rows[sorted[next]].first <= cursor) {
      open.emplace(priority(sorted[next]), sorted[next]);
      ++next;
    }
    while (!open.empty() && rows[open.top().second].last < cursor) open.pop();
    if (open.empty()) continue;
    uint32_t winner = open.top().second;
    u128 end = rows[winner].last;
    if (next < sorted.size() && rows[sorted[next]].first - 1 < end) {
      end = rows[sorted[next]].first - 1;
    }
    if (!out->empty() && out->back().row == winner &&
        out->back().last + 1 == cursor) {
      out->back().last = end;
    } else {
      out->push_back({cursor, end, winner});
    }
    if (end == kMax128) break;
    cursor = end + 1;
  }
  return absl::OkStatus();
}

std::vector<uint32_t> SortedRows(const std::vector<PendingRow>& rows, bool v6,
                                 uint8_t group) {
  std::vector<uint32_t> sorted;
  for (uint32_t i = 0; i < rows.size(); ++i) {
    if (rows[i].v6 == v6 && (rows[i].groups & group) != 0) sorted.push_back(i);
  }
  auto before = [&](uint32_t a, uint32_t b) {
    return rows[a].first < rows[b].first ||
           (rows[a].first == rows[b].first && rows[a].order < rows[b].order);
  };
  if (!std::is_sorted(sorted.begin(), sorted.end(), before)) {
    std::sort(sorted.begin(), sorted.end(), before);
  }
  return sorted;
}

void Emit(u128 first, u128 last, uint32_t as_row, uint32_t country_row,
          const std::vector<PendingRow>& rows, std::vector<PaintedRange>* out) {
  PaintedRange r{first, last, 0, 0, kNoCountry};
  if (as_row != kNoRow) {
    r.asn = rows[as_row].asn;
    r.name = rows[as_row].name;
  }
  if (country_row != kNoRow) r.country = rows[country_row].country;
  if (r.asn == 0 && r.name == 0 && r.country == kNoCountry) return;  // gap
  if (!out->empty()) {
    PaintedRange& back = out->back();
    if (back.last + 1 == first && back.asn == r.asn && back.name == r.name &&
        back.country == r.country) {
      back.last = last;
      return;
    }
  }
  out->push_back(r);
}

}  // namespace

absl::Status PaintRanges(const std::vector<PendingRow>& rows, bool v6,
                         OverlapPolicy policy,
                         const std::vector<std::string>& sources,
                         std::vector<PaintedRange>* out) {
  std::vector<Segment> as, country;
  if (auto s = ResolveGroup(rows, SortedRows(rows, v6, kSetsAs), policy,
                            kSetsAs, sources, &as);
      !s.ok()) {
    return s;
  }
  if (auto s = ResolveGroup(rows, SortedRows(rows, v6, kSetsCountry), policy,
                            kSetsCountry, sources, &country);
      !s.ok()) {
    return s;
  }
  // Walk both segment lists at once, cutting at every boundary of either.
  out->clear();
  out->reserve(std::max(as.size(), country.size()));
  size_t a = 0, c = 0;
  u128 cursor = 0;
  for (;;) {
    while (a < as.size() && as[a].last < cursor) ++a;
    while (c < country.size() && country[c].last < cursor) ++c;
    if (a == as.size() && c == country.size()) break;
    bool a_open = a < as.size() && as[a].first <= cursor;
    bool c_open = c < country.size() && country[c].first <= cursor;
    if (!a_open && !c_open) {
      cursor = std::min(a < as.size() ? as[a].first : kMax128,
                        c < country.size() ? country[c].first : kMax128);
      continue;
    }
    u128 end_a = a_open          ? as[a].last
                 : a < as.size() ? as[a].first - 1
                                 : kMax128;
    u128 end_c = c_open               ? country[c].last
                 : c < country.size() ? country[c].first - 1
                                      : kMax128;
    u128 end = std::min(end_a, end_c);
    Emit(cursor, end, a_open ? as[a].row : kNoRow,
         c_open ? country[c].row : kNoRow, rows, out);
    if (end == kMax128) break;
    cursor = end + 1;
  }
  return absl::OkStatus();
}

}  // namespace keel::core::core_internal
