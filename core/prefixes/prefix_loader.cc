#include "core/prefixes/prefix_loader.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/io/line_reader.h"

namespace keel::core {
namespace {

absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

bool IsComment(std::string_view line) {
  return line.empty() || line[0] == ';' || line[0] == '%' || line[0] == '#';
}

// The TAB-separated fields of `line`, up to 4 (a fourth means "too many").
int SplitFields(std::string_view line, std::string_view (&fields)[4]) {
  int count = 0;
  size_t start = 0;
  while (count < 4) {
    size_t tab = line.find('\t', start);
    fields[count++] = line.substr(start, tab - start);
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return count;
}

// A decimal number that fits 32 bits; nullptr on success, else why not.
const char* ParseUint32(std::string_view text, uint32_t* out) {
  if (text.empty()) return "empty";
  if (text.size() > 10) return "more than 10 digits";
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return "not a decimal number";
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > UINT32_MAX) return "larger than 4294967295";
  *out = static_cast<uint32_t>(value);
  return nullptr;
}

struct Row {
  Prefix prefix;
  uint32_t origin = 0;
  uint64_t extra_origins = 0;
};

// Why a row is bad: the field it is in and the reason.
struct RowError {
  std::string message;
};

// The origin field: an AS number, or a multi-origin / AS set whose first
// member is kept ("1_2", "1,2", "{1,2}").
std::optional<RowError> ParseOrigin(std::string_view field, Row* row) {
  std::string_view text = field;
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
    text = text.substr(1, text.size() - 2);
  }
  size_t end = text.find_first_of("_,");
  const char* why = ParseUint32(text.substr(0, end), &row->origin);
  uint64_t extra = 0;
  while (why == nullptr && end != std::string_view::npos) {
    text = text.substr(end + 1);
    end = text.find_first_of("_,");
    uint32_t other;
    why = ParseUint32(text.substr(0, end), &other);
    ++extra;
  }
  if (why != nullptr) {
    return RowError{absl::StrCat("invalid origin AS \"",
                                 absl::CHexEscape(AbslView(field)),
                                 "\": ", why)};
  }
  row->extra_origins = extra;
  return std::nullopt;
}

std::optional<RowError> ParsePrefixField(std::string_view text, bool mask,
                                         Row* row) {
  auto prefix = Prefix::Parse(text, mask);
  if (!prefix.ok()) return RowError{std::string(prefix.status().message())};
  row->prefix = *prefix;
  return std::nullopt;
}

std::optional<RowError> ParseRow(PrefixFileFormat format,
                                 std::string_view (&f)[4], int count, bool mask,
                                 Row* row) {
  switch (format) {
    case PrefixFileFormat::kPyasn:
      if (count != 2) {
        return RowError{absl::StrCat("expected 2 TAB-separated fields ",
                                     "(prefix/len, asn), found ", count)};
      }
      if (auto e = ParsePrefixField(f[0], mask, row)) return e;
      return ParseOrigin(f[1], row);
    case PrefixFileFormat::kRis: {
      if (count != 3) {
        return RowError{absl::StrCat("expected 3 TAB-separated fields ",
                                     "(asn, prefix/len, peers), found ",
                                     count)};
      }
      if (auto e = ParseOrigin(f[0], row)) return e;
      if (auto e = ParsePrefixField(f[1], mask, row)) return e;
      uint32_t peers;
      if (const char* why = ParseUint32(f[2], &peers)) {
        return RowError{absl::StrCat("invalid peer count \"",
                                     absl::CHexEscape(AbslView(f[2])),
                                     "\": ", why)};
      }
      return std::nullopt;
    }
    case PrefixFileFormat::kCaida: {
      if (count != 3) {
        return RowError{absl::StrCat("expected 3 TAB-separated fields ",
                                     "(address, length, asn), found ", count)};
      }
      auto address = IpAddress::Parse(f[0]);
      if (!address.ok()) {
        return RowError{std::string(address.status().message())};
      }
      uint32_t length;
      if (const char* why = ParseUint32(f[1], &length)) {
        return RowError{absl::StrCat("invalid prefix length \"",
                                     absl::CHexEscape(AbslView(f[1])),
                                     "\": ", why)};
      }
      auto prefix = Prefix::Make(
          *address, static_cast<int>(std::min<uint32_t>(length, 255)), mask);
      if (!prefix.ok()) return RowError{std::string(prefix.status().message())};
      row->prefix = *prefix;
      return ParseOrigin(f[2], row);
    }
  }
  return RowError{"unknown format"};
}

// The format a first data row has, or an error saying no known one fits.
std::optional<PrefixFileFormat> DetectFormat(std::string_view (&f)[4],
                                             int count) {
  auto has_slash = [](std::string_view s) {
    return s.find('/') != std::string_view::npos;
  };
  if (count == 2 && has_slash(f[0])) return PrefixFileFormat::kPyasn;
  if (count == 3 && has_slash(f[1])) return PrefixFileFormat::kRis;
  if (count == 3 && !has_slash(f[0]) && !has_slash(f[1])) {
    return PrefixFileFormat::kCaida;
  }
  return std::nullopt;
}

[[gnu::cold]] absl::Status LineError(const LineReader& reader,
                                     std::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(
      reader.path(), ":", reader.line_number(), ": ", AbslView(message)));
}

}  // namespace

absl::StatusOr<PrefixLoadStats> ReadPrefixFile(
    std::string_view path, const PrefixLoadOptions& options,
    absl::FunctionRef<void(const Prefix&, uint32_t)> row_fn) {
  auto reader = LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  PrefixLoadStats stats;
  std::optional<PrefixFileFormat> format;
  std::string_view line;
  std::string_view fields[4];
  while (reader->Next(&line)) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (IsComment(line)) continue;
    int count = SplitFields(line, fields);
    if (!format) {
      format = DetectFormat(fields, count);
      if (!format) {
        return LineError(
            *reader,
            "unknown row shape: expected `prefix/len<TAB>asn` (pyasn), "
            "`asn<TAB>prefix/len<TAB>peers` (RIS) or "
            "`address<TAB>length<TAB>asn` (CAIDA)");
      }
      stats.format = *format;
    }
    Row row;
    if (auto error = ParseRow(*format, fields, count, options.mask, &row)) {
      if (!options.skip_bad) return LineError(*reader, error->message);
      ++stats.bad_rows;
      continue;
    }
    ++stats.rows;
    stats.extra_origins += row.extra_origins;
    row_fn(row.prefix, row.origin);
  }
  if (!reader->status().ok()) return reader->status();
  return stats;
}

absl::StatusOr<PrefixLoadStats> LoadPrefixTable(
    std::string_view path, const PrefixLoadOptions& options,
    PrefixTable<uint32_t>& table) {
  PrefixTable<uint32_t>::Batch batch(table);
  uint64_t duplicates = 0;
  auto stats =
      ReadPrefixFile(path, options, [&](const Prefix& prefix, uint32_t origin) {
        if (!table.Insert(prefix, origin)) ++duplicates;
      });
  if (stats.ok()) stats->duplicates = duplicates;
  return stats;
}

}  // namespace keel::core
