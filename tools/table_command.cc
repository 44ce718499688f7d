// keel table compile: builds a range table from feed files and writes it as
// an image that `keel lookup --table FILE` and RangeTable::OpenMapped serve.
//
//   keel table compile --out ip2asn.keel ip2asn-v4.tsv.gz ip2asn-v6.tsv.gz
//
// Prints one JSON object describing the table.
#include <cstdio>

#include "core/ranges/range_table.h"
#include "core/ranges/range_table_builder.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

int RunTableCompile(Args& args) {
  constexpr char kName[] = "table compile";
  if (auto s = args.Check({"out", "overlap"}); !s.ok()) {
    return Fail(kName, s, 2);
  }
  std::string out = args.Get("out");
  if (out.empty() || args.positional().empty()) {
    return Fail(kName,
                absl::InvalidArgumentError(
                    "usage: keel table compile --out FILE [--overlap "
                    "error|first|last] INPUT..."),
                2);
  }
  auto overlap = core::ParseOverlapPolicy(args.Get("overlap", "error"));
  if (!overlap.ok()) return Fail(kName, overlap.status(), 2);
  auto table = core::LoadRangeTable(args.positional(), *overlap);
  if (!table.ok()) return Fail(kName, table.status());
  if (auto s = table->Save(out); !s.ok()) return Fail(kName, s);
  std::printf("%s\n", JsonObject()
                          .Add("out", out)
                          .Add("v4_rows", uint64_t{table->v4_rows()})
                          .Add("v6_rows", uint64_t{table->v6_rows()})
                          .Add("records", uint64_t{table->records()})
                          .Add("names", uint64_t{table->names()})
                          .Add("table_bytes", uint64_t{table->table_bytes()})
                          .str()
                          .c_str());
  return 0;
}

}  // namespace

KEEL_COMMAND("table compile",
             "build a range table from feeds and write it as an image",
             RunTableCompile);

}  // namespace keel::tools
