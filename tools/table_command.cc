// keel table compile: builds a range table from feed files and writes it as
// an image that `keel lookup --table FILE` and RangeTable::OpenMapped serve.
//
//   keel table compile --out ip2asn.keel ip2asn-v4.tsv.gz ip2asn-v6.tsv.gz
//   gunzip -c ip2asn-combined.tsv.gz | keel table compile --out t.keel -
//
// Prints one JSON object describing the table.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/ranges/range_table.h"
#include "core/ranges/range_table_builder.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

struct TableCompileFlags {
  std::string out;
  std::string overlap = "error";
  std::vector<std::string> inputs;
};

int RunTableCompile(const TableCompileFlags& flags) {
  constexpr char kName[] = "table compile";
  auto overlap = core::ParseOverlapPolicy(flags.overlap);
  if (!overlap.ok()) return UsageError(kName, overlap.status());
  std::vector<std::string> inputs;
  for (const std::string& input : flags.inputs) {
    inputs.push_back(InputPath(input));
  }
  auto table = core::LoadRangeTable(inputs, *overlap);
  if (!table.ok()) return Fail(kName, table.status());
  if (auto s = table->Save(flags.out); !s.ok()) return Fail(kName, s);
  std::printf("%s\n", JsonObject()
                          .Add("out", flags.out)
                          .Add("v4_rows", uint64_t{table->v4_rows()})
                          .Add("v6_rows", uint64_t{table->v6_rows()})
                          .Add("records", uint64_t{table->records()})
                          .Add("names", uint64_t{table->names()})
                          .Add("table_bytes", uint64_t{table->table_bytes()})
                          .str()
                          .c_str());
  return 0;
}

CommandRun SetUpTableCompile(CLI::App& app) {
  auto flags = std::make_shared<TableCompileFlags>();
  app.add_option("--out", flags->out, "the image file to write")->required();
  app.add_option("--overlap", flags->overlap,
                 "overlapping ranges in the feeds: an error, or the first or "
                 "last given wins")
      ->check(CLI::IsMember({"error", "first", "last"}));
  app.add_option("INPUT", flags->inputs,
                 "ip2asn TSV or CSV feeds (gzip too), IPv4 and IPv6 together "
                 "in one table; - reads one from stdin")
      ->required();
  app.footer("Prints one JSON object describing the table.");
  return [flags] { return RunTableCompile(*flags); };
}

}  // namespace

KEEL_COMMAND("table compile",
             "build a range table from feeds and write it as an image",
             SetUpTableCompile);

}  // namespace keel::tools
