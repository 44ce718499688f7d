#include "core/ranges/internal/range_feed.h"

#include "absl/strings/str_cat.h"

namespace keel::core::core_internal {
namespace {

constexpr int kMaxFields = 5;

absl::string_view Absl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

[[gnu::cold, gnu::noinline]] absl::Status FieldError(std::string_view field,
                                                     absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("field ", Absl(field), ": ", why));
}

// Splits a tab-separated line; returns the field count (kMaxFields + 1 when
// there are more).
int SplitTabs(std::string_view line, std::string_view* fields) {
  int count = 0;
  size_t begin = 0;
  for (;;) {
    size_t tab = line.find('\t', begin);
    if (count == kMaxFields) return kMaxFields + 1;
    fields[count++] = line.substr(begin, tab - begin);
    if (tab == std::string_view::npos) return count;
    begin = tab + 1;
  }
}

// Splits an RFC 4180 CSV line. A quoted field may hold commas and "" for a
// quote; unquoted text goes to `scratch`, which is sized up front so the
// views into it stay valid. Returns the field count, or -1 for a malformed
// quote.
int SplitCsv(std::string_view line, std::string_view* fields,
             std::string* scratch) {
  scratch->clear();
  scratch->reserve(line.size());
  int count = 0;
  size_t i = 0;
  for (;;) {
    if (count == kMaxFields) return kMaxFields + 1;
    if (i < line.size() && line[i] == '"') {
      size_t begin = scratch->size();
      ++i;
      for (;;) {
        if (i == line.size()) return -1;  // no closing quote
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            scratch->push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        scratch->push_back(line[i++]);
      }
      fields[count++] =
          std::string_view(scratch->data() + begin, scratch->size() - begin);
      if (i == line.size()) return count;
      if (line[i] != ',') return -1;  // text after the closing quote
      ++i;
    } else {
      size_t comma = line.find(',', i);
      fields[count++] = line.substr(i, comma - i);
      if (comma == std::string_view::npos) return count;
      i = comma + 1;
    }
  }
}

absl::Status ParseRange(std::string_view start, std::string_view end,
                        FeedRow* row) {
  auto first = IpAddress::Parse(start);
  if (!first.ok()) return FieldError("start", first.status().message());
  auto last = IpAddress::Parse(end);
  if (!last.ok()) return FieldError("end", last.status().message());
  if (first->is_v4() != last->is_v4()) {
    return FieldError("end", "start and end are of different families");
  }
  if (*last < *first) return FieldError("end", "end is before start");
  row->first = *first;
  row->last = *last;
  return absl::OkStatus();
}

absl::Status ParseAsn(std::string_view text, uint32_t* asn) {
  if (text.empty() || text.size() > 10) {
    return FieldError("asn", absl::StrCat("\"", Absl(text.substr(0, 20)),
                                          "\" is not an AS number"));
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return FieldError(
          "asn", absl::StrCat("\"", Absl(text), "\" is not an AS number"));
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > 0xffffffffu) {
    return FieldError("asn", absl::StrCat(Absl(text), " does not fit 32 bits"));
  }
  *asn = static_cast<uint32_t>(value);
  return absl::OkStatus();
}

bool IsLetter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

absl::Status ParseCountry(std::string_view text, std::string_view* country) {
  if (text == "None") {
    *country = {};
    return absl::OkStatus();
  }
  if (text.size() != 2 || !IsLetter(text[0]) || !IsLetter(text[1])) {
    return FieldError("country", absl::StrCat("\"", Absl(text.substr(0, 20)),
                                              "\" is not two letters or None"));
  }
  *country = text;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FeedLayout> DetectFeedLayout(std::string_view line) {
  std::string_view fields[kMaxFields];
  if (line.find('\t') != std::string_view::npos) {
    int count = SplitTabs(line, fields);
    if (count == 5) return FeedLayout::kIptoasnTsv;
    return absl::InvalidArgumentError(absl::StrCat(
        "tab-separated line with ",
        count > kMaxFields ? "more than 5" : absl::StrCat(count),
        " fields; the iptoasn layout has 5: start, end, AS number, country, "
        "description"));
  }
  std::string scratch;
  int count = SplitCsv(line, fields, &scratch);
  if (count == 4) return FeedLayout::kAsnCsv;
  if (count == 3) return FeedLayout::kCountryCsv;
  return absl::InvalidArgumentError(
      "not a known layout: expected iptoasn TSV (start, end, AS number, "
      "country, description), or CSV start,end,asn,organisation or "
      "start,end,country");
}

absl::Status ParseFeedLine(std::string_view line, FeedLayout layout,
                           FeedRow* row, std::string* scratch) {
  std::string_view f[kMaxFields];
  int expected = layout == FeedLayout::kIptoasnTsv ? 5
                 : layout == FeedLayout::kAsnCsv   ? 4
                                                   : 3;
  int count = layout == FeedLayout::kIptoasnTsv ? SplitTabs(line, f)
                                                : SplitCsv(line, f, scratch);
  if (count < 0) {
    return absl::InvalidArgumentError(
        "unbalanced quotes or text after a closing quote");
  }
  if (count != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(count > kMaxFields ? "more than 5" : absl::StrCat(count),
                     " fields where the file's layout has ", expected));
  }
  if (auto s = ParseRange(f[0], f[1], row); !s.ok()) return s;
  RangeFields& fields = row->fields;
  fields = RangeFields();
  switch (layout) {
    case FeedLayout::kIptoasnTsv: {
      fields.sets_as = fields.sets_country = true;
      if (auto s = ParseAsn(f[2], &fields.asn); !s.ok()) return s;
      if (auto s = ParseCountry(f[3], &fields.country); !s.ok()) return s;
      // AS 0 marks a gap ("None", "Not routed"): the row clears its range.
      if (fields.asn != 0)
        fields.name = f[4];
      else
        fields.country = {};
      break;
    }
    case FeedLayout::kAsnCsv:
      fields.sets_as = true;
      if (auto s = ParseAsn(f[2], &fields.asn); !s.ok()) return s;
      if (fields.asn != 0) fields.name = f[3];
      break;
    case FeedLayout::kCountryCsv:
      fields.sets_country = true;
      if (auto s = ParseCountry(f[2], &fields.country); !s.ok()) return s;
      break;
  }
  return absl::OkStatus();
}

}  // namespace keel::core::core_internal
