// keel lookup: answers IP addresses from range tables (feeds or an image).
//
//   keel lookup --table ip2asn-v4.tsv --table ip2asn-v6.tsv 1.1.1.1 ::1
//   keel lookup --table ip2asn.keel < addresses.txt
//
// One line per address: IP<TAB>ASN<TAB>COUNTRY<TAB>NAME, "-" for a field the
// table lacks, or IP<TAB>- when no range holds it. A bad address prints
// IP<TAB>error: why on stderr; the others go on and the exit code is 1.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "keel/core/ip.h"
#include "keel/core/range_table.h"
#include "keel/core/range_table_builder.h"
#include "keel/tools/command.h"

namespace keel::tools {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Appends the answer for `text` to `out`, or sets *error for a bad address.
void Answer(const core::RangeTable& table, std::string_view text,
            std::string* out, std::string* error) {
  auto address = core::IpAddress::Parse(text);
  absl::string_view shown(text.data(), text.size());
  if (!address.ok()) {
    *error = absl::StrCat(shown, "\terror: ", address.status().message(), "\n");
    return;
  }
  auto match = table.lookup(*address);
  if (!match) {
    absl::StrAppend(out, shown, "\t-\n");
    return;
  }
  const core::RangeRecord& r = match->record;
  auto field = [](std::string_view s) {
    return s.empty() ? absl::string_view("-")
                     : absl::string_view(s.data(), s.size());
  };
  absl::StrAppend(out, shown, "\t",
                  r.asn == 0 ? std::string("-") : absl::StrCat(r.asn), "\t",
                  field(r.country), "\t", field(r.name), "\n");
}

int RunLookup(Args& args) {
  constexpr char kName[] = "lookup";
  if (auto s = args.Check({"table", "overlap"}); !s.ok()) {
    return Fail(kName, s, 2);
  }
  std::vector<std::string> tables = args.GetAll("table");
  if (tables.empty()) {
    return Fail(kName, absl::InvalidArgumentError("--table PATH is required"),
                2);
  }
  auto overlap = core::ParseOverlapPolicy(args.Get("overlap", "error"));
  if (!overlap.ok()) return Fail(kName, overlap.status(), 2);
  auto table = core::LoadRangeTable(tables, *overlap);
  if (!table.ok()) return Fail(kName, table.status());

  bool all_good = true;
  std::string out;
  auto flush = [&out] {
    std::fwrite(out.data(), 1, out.size(), stdout);
    out.clear();
  };
  std::string error;
  auto answer = [&](std::string_view text) {
    Answer(*table, text, &out, &error);
    if (!error.empty()) {
      flush();  // keeps stdout and stderr in input order on one terminal
      std::fputs(error.c_str(), stderr);
      error.clear();
      all_good = false;
    }
    if (out.size() > (64 << 10)) flush();
  };
  if (!args.positional().empty()) {
    for (const std::string& ip : args.positional()) answer(ip);
  } else {
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
      std::string_view text = Trim(line);
      if (!text.empty()) answer(text);
    }
  }
  flush();
  return all_good ? 0 : 1;
}

}  // namespace

KEEL_COMMAND("lookup",
             "look IP addresses up in range tables (TSV, CSV, gzip or image)",
             RunLookup);

}  // namespace keel::tools
