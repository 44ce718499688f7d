// IP range feeds (core/ranges/internal/range_feed.h,
// core/ranges/range_table_builder.h): the input is a feed file. Its lines go
// through ParseFeedLine one by one, and the whole file through
// RangeTableBuilder::AddFile and Build under the "last" overlap policy; the
// built table must then answer, at every row's ends and just outside them, what
// the last row covering the address set for each field group (the AS number and
// name, the country).
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "core/ranges/internal/range_feed.h"
#include "core/ranges/range_table.h"
#include "core/ranges/range_table_builder.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace ci = keel::core::core_internal;
using keel::core::IpAddress;
using keel::core::Ipv4;
using keel::core::Ipv6;

struct ModelRow {
  IpAddress first, last;
  bool sets_as, sets_country;
  uint32_t asn;
  std::string name, country;
};

bool SameCountry(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<IpAddress> Step(const IpAddress& a, int delta) {
  unsigned __int128 max =
      a.is_v4() ? 0xffffffffu : ~static_cast<unsigned __int128>(0);
  if (delta < 0 && a.bits() == 0) return std::nullopt;
  if (delta > 0 && a.bits() == max) return std::nullopt;
  unsigned __int128 bits = delta > 0 ? a.bits() + 1 : a.bits() - 1;
  if (a.is_v4()) return IpAddress(Ipv4(static_cast<uint32_t>(bits)));
  return IpAddress(Ipv6(bits));
}

void CheckAddress(const keel::core::RangeTable& table,
                  const std::vector<ModelRow>& rows, const IpAddress& a) {
  const ModelRow* as_row = nullptr;
  const ModelRow* country_row = nullptr;
  for (const ModelRow& r : rows) {
    if (r.first.is_v4() != a.is_v4() || a < r.first || r.last < a) continue;
    if (r.sets_as) as_row = &r;
    if (r.sets_country) country_row = &r;
  }
  uint32_t want_asn = as_row ? as_row->asn : 0;
  std::string_view want_name = as_row ? std::string_view(as_row->name) : "";
  std::string_view want_country =
      country_row ? std::string_view(country_row->country) : "";
  auto match = table.Lookup(a);
  if (!match) {
    FUZZ_CHECK(want_asn == 0 && want_name.empty() && want_country.empty())
        << a.ToString() << ": gap, want AS" << want_asn;
    return;
  }
  FUZZ_CHECK(match->record.asn == want_asn)
      << a.ToString() << ": AS" << match->record.asn << ", want " << want_asn;
  FUZZ_CHECK(match->record.name == want_name) << a.ToString();
  FUZZ_CHECK(SameCountry(match->record.country, want_country))
      << a.ToString() << ": country " << match->record.country << ", want "
      << want_country;
  FUZZ_CHECK(!(a < match->first) && !(match->last < a)) << a.ToString();
  // The reported range holds the same record throughout.
  auto at_first = table.Lookup(match->first);
  auto at_last = table.Lookup(match->last);
  FUZZ_CHECK(at_first && at_first->record == match->record) << a.ToString();
  FUZZ_CHECK(at_last && at_last->record == match->record) << a.ToString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = keel::fuzz::AsText(data, size);

  // The builder's own loop, by hand: empty lines skipped, the first line
  // sets the layout.
  std::vector<ModelRow> rows;
  std::optional<ci::FeedLayout> layout;
  bool parsed = true;
  std::string scratch;
  for (size_t begin = 0; begin < text.size() && parsed;) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (!layout) {
      auto detected = ci::DetectFeedLayout(line);
      if (!detected.ok()) {
        parsed = false;
        break;
      }
      layout = *detected;
    }
    ci::FeedRow row;
    if (!ci::ParseFeedLine(line, *layout, &row, &scratch).ok()) {
      parsed = false;
      break;
    }
    const keel::core::RangeFields& f = row.fields;
    FUZZ_CHECK(row.first.is_v4() == row.last.is_v4()) << line;
    FUZZ_CHECK(!(row.last < row.first)) << line;
    FUZZ_CHECK(f.sets_as == (*layout != ci::FeedLayout::kCountryCsv)) << line;
    FUZZ_CHECK(f.sets_country == (*layout != ci::FeedLayout::kAsnCsv)) << line;
    FUZZ_CHECK(f.country.empty() || f.country.size() == 2) << line;
    FUZZ_CHECK(f.asn != 0 || f.name.empty()) << line;
    rows.push_back(ModelRow{row.first, row.last, f.sets_as, f.sets_country,
                            f.asn, std::string(f.name),
                            std::string(f.country)});
  }

  // gzip input reads decompressed in the builder: no model for it.
  bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  keel::fuzz::MemFile file(text);
  keel::core::RangeTableBuilder builder(keel::core::OverlapPolicy::kLast);
  absl::Status added = builder.AddFile(file.path());
  if (gzip) {
    if (added.ok()) (void)std::move(builder).Build();
    return 0;
  }
  FUZZ_CHECK(added.ok() == parsed) << added;
  if (!added.ok()) return 0;
  FUZZ_CHECK(builder.rows() == rows.size());
  auto table = std::move(builder).Build();
  if (!table.ok()) return 0;  // only the format's limits refuse here
  for (const ModelRow& r : rows) {
    for (const IpAddress& a : {r.first, r.last}) {
      CheckAddress(*table, rows, a);
    }
    if (auto before = Step(r.first, -1)) CheckAddress(*table, rows, *before);
    if (auto after = Step(r.last, +1)) CheckAddress(*table, rows, *after);
  }
  // Ranges come in address order, each family apart, without overlap.
  std::optional<IpAddress> previous_last;
  table->ForEachRange([&](const IpAddress& first, const IpAddress& last,
                          const keel::core::RangeRecord& record) {
    FUZZ_CHECK(!(last < first)) << first.ToString();
    if (previous_last && previous_last->is_v4() == first.is_v4()) {
      FUZZ_CHECK(*previous_last < first) << first.ToString();
    }
    previous_last = last;
    auto match = table->Lookup(first);
    FUZZ_CHECK(match && match->record == record) << first.ToString();
  });
  return 0;
}
