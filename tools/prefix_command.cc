// keel prefix: loads a prefix-to-origin file into a PrefixTable and answers
// one query: the longest match of an address (or of each address on stdin),
// the exact prefix, or every more or less specific one. One line per
// result, `QUERY<TAB>PREFIX<TAB>VALUE`, or `QUERY<TAB>-` when there is none.
#include <cstdio>
#include <memory>
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

struct PrefixFlags {
  std::string table;
  std::string longest, exact, more, less;
  bool skip_bad = false;
  bool mask = false;
};

int RunPrefix(const PrefixFlags& flags) {
  if (flags.table == "-" && flags.longest == "-") {
    return UsageError(kName, absl::InvalidArgumentError(
                                 "--table - and --longest - both read stdin"));
  }
  core::PrefixLoadOptions options;
  options.skip_bad = flags.skip_bad;
  options.mask = flags.mask;
  Table table;
  auto stats = core::LoadPrefixTable(InputPath(flags.table), options, table);
  if (!stats.ok()) return Fail(kName, stats.status());
  if (stats->bad_rows > 0) {
    std::fprintf(stderr, "keel prefix: skipped %llu bad rows\n",
                 static_cast<unsigned long long>(stats->bad_rows));
  }

  if (!flags.longest.empty()) {
    const std::string& query = flags.longest;
    absl::Status s = query == "-" ? AnswerEachStdinLine(table)
                                  : AnswerLongest(Table::Reader(table), query);
    if (!s.ok()) return Fail(kName, s, query == "-" ? 1 : 2);
    return 0;
  }
  const std::string& query = !flags.exact.empty()  ? flags.exact
                             : !flags.more.empty() ? flags.more
                                                   : flags.less;
  auto prefix = Prefix::Parse(query, options.mask);
  if (!prefix.ok()) return Fail(kName, prefix.status(), 2);
  bool any = false;
  auto print = [&](const Prefix& p, uint32_t value) {
    PrintResult(query, p, value);
    any = true;
  };
  if (!flags.exact.empty()) {
    if (auto value = table.Exact(*prefix)) print(*prefix, *value);
  } else if (!flags.more.empty()) {
    table.MoreSpecifics(*prefix, print);
  } else {
    table.LessSpecifics(*prefix, print);
  }
  if (!any) PrintNone(query);
  return 0;
}

CommandRun SetUpPrefix(CLI::App& app) {
  auto flags = std::make_shared<PrefixFlags>();
  app.add_option("--table", flags->table,
                 "a prefix-to-origin file: prefix/len<TAB>origin AS a line, "
                 "`;` comments, gzip too (RouteViews pfx2as, pyasn); - reads "
                 "it from stdin")
      ->required();
  CLI::Option_group* query =
      app.add_option_group("query", "exactly one of these");
  query->add_option("--longest", flags->longest,
                    "the longest prefix holding IP; - answers each line of "
                    "stdin");
  query->add_option("--exact", flags->exact, "PREFIX itself");
  query->add_option("--more", flags->more,
                    "every prefix inside PREFIX (more specific), PREFIX too");
  query->add_option("--less", flags->less,
                    "every prefix holding PREFIX (less specific), PREFIX too");
  query->require_option(1);
  app.add_flag("--skip-bad", flags->skip_bad,
               "skip rows that do not parse (counted on stderr) instead of "
               "failing");
  app.add_flag("--mask", flags->mask,
               "mask host bits of prefixes (10.1.2.3/8 is 10.0.0.0/8) instead "
               "of refusing them");
  app.footer(
      "Prints QUERY<TAB>PREFIX<TAB>ORIGIN a result, QUERY<TAB>- when there is\n"
      "none.");
  return [flags] { return RunPrefix(*flags); };
}

}  // namespace

KEEL_COMMAND("prefix",
             "longest, exact, more- or less-specific prefixes from a BGP "
             "prefix-to-origin file",
             SetUpPrefix);

}  // namespace keel::tools
