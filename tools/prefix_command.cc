// keel prefix: loads a prefix-to-origin file into a PrefixTable and answers
// one query: the longest match of an address (or of each address on stdin),
// the exact prefix, or every more or less specific one. One line per
// result, `QUERY<TAB>PREFIX<TAB>VALUE`, or `QUERY<TAB>-` when there is none.
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/ip.h"
#include "core/prefixes/prefix_loader.h"
#include "core/prefixes/prefix_table.h"
#include "tools/command.h"
#include "tools/stdin_lines.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "prefix";

using core::IpAddress;
using core::Prefix;
using Table = core::PrefixTable<uint32_t>;

void PrintResult(std::string_view query, const Prefix& prefix, uint32_t value) {
  std::printf("%.*s\t%s\t%u\n", static_cast<int>(query.size()), query.data(),
              prefix.ToString().c_str(), value);
}
void PrintNone(std::string_view query) {
  std::printf("%.*s\t-\n", static_cast<int>(query.size()), query.data());
}

absl::Status AnswerLongest(const Table::Reader& reader,
                           std::string_view query) {
  auto address = IpAddress::Parse(query);
  if (!address.ok()) return address.status();
  if (auto match = reader.Longest(*address)) {
    PrintResult(query, match->prefix, match->value);
  } else {
    PrintNone(query);
  }
  return absl::OkStatus();
}

absl::Status AnswerEachStdinLine(const Table& table) {
  const Table::Reader reader(table);
  StdinLines lines;
  std::string_view line;
  while (lines.Next(&line)) {
    if (auto s = AnswerLongest(reader, line); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stdin:", lines.line_number(), ": ", s.message()));
    }
  }
  return lines.status();
}

int RunPrefix(Args& args) {
  if (auto s = args.Check({"table", "longest", "exact", "more", "less"},
                          {"skip-bad", "mask"});
      !s.ok()) {
    return Fail(kName, s, 2);
  }
  int queries = 0;
  for (const char* flag : {"longest", "exact", "more", "less"}) {
    queries += args.Has(flag) ? 1 : 0;
  }
  if (!args.Has("table") || queries != 1 || !args.positional().empty()) {
    return Fail(kName,
                absl::InvalidArgumentError(
                    "usage: keel prefix --table FILE (--longest IP|- | "
                    "--exact PREFIX | --more PREFIX | --less PREFIX) "
                    "[--skip-bad] [--mask]"),
                2);
  }
  core::PrefixLoadOptions options;
  options.skip_bad = args.Has("skip-bad");
  options.mask = args.Has("mask");
  Table table;
  auto stats = core::LoadPrefixTable(args.Get("table"), options, table);
  if (!stats.ok()) return Fail(kName, stats.status());
  if (stats->bad_rows > 0) {
    std::fprintf(stderr, "keel prefix: skipped %llu bad rows\n",
                 static_cast<unsigned long long>(stats->bad_rows));
  }

  if (args.Has("longest")) {
    std::string query = args.Get("longest");
    absl::Status s = query == "-" ? AnswerEachStdinLine(table)
                                  : AnswerLongest(Table::Reader(table), query);
    if (!s.ok()) return Fail(kName, s, query == "-" ? 1 : 2);
    return 0;
  }
  const char* flag = args.Has("exact")  ? "exact"
                     : args.Has("more") ? "more"
                                        : "less";
  std::string query = args.Get(flag);
  auto prefix = Prefix::Parse(query, options.mask);
  if (!prefix.ok()) return Fail(kName, prefix.status(), 2);
  bool any = false;
  auto print = [&](const Prefix& p, uint32_t value) {
    PrintResult(query, p, value);
    any = true;
  };
  if (args.Has("exact")) {
    if (auto value = table.Exact(*prefix)) print(*prefix, *value);
  } else if (args.Has("more")) {
    table.MoreSpecifics(*prefix, print);
  } else {
    table.LessSpecifics(*prefix, print);
  }
  if (!any) PrintNone(query);
  return 0;
}

}  // namespace

KEEL_COMMAND("prefix",
             "longest, exact, more- or less-specific prefixes from a BGP "
             "prefix-to-origin file",
             RunPrefix);

}  // namespace keel::tools
