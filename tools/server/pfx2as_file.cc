#include "keel/tools/server/pfx2as_file.h"

#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "keel/core/line_reader.h"

namespace keel::tools {
namespace {

[[gnu::cold]] absl::Status BadLine(const core::LineReader& reader,
                                   std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      reader.path(), ":", reader.line_number(), ": ", std::string(why)));
}

}  // namespace

absl::Status LoadPfx2asFile(const std::string& path,
                            core::PrefixTable<uint32_t>* table) {
  auto reader = core::LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  core::PrefixTable<uint32_t>::Batch batch(*table);
  std::string_view line;
  while (reader->Next(&line)) {
    if (line.empty() || line[0] == ';') continue;
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      return BadLine(*reader, "expected `prefix<TAB>AS number`");
    }
    auto prefix = core::Prefix::Parse(line.substr(0, tab));
    if (!prefix.ok()) {
      return BadLine(
          *reader,
          absl::StrCat("prefix: ", std::string(prefix.status().message())));
    }
    std::string_view asn_text = line.substr(tab + 1);
    uint32_t asn = 0;
    if (!absl::SimpleAtoi(absl::string_view(asn_text.data(), asn_text.size()),
                          &asn)) {
      return BadLine(*reader, absl::StrCat("AS number: not a 32-bit number: \"",
                                           std::string(asn_text), "\""));
    }
    table->insert(*prefix, asn);
  }
  return reader->status();
}

}  // namespace keel::tools
