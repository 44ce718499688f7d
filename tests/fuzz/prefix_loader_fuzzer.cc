// BGP prefix-to-origin files (core/prefixes/prefix_loader.h): the input is a
// file in any of the three formats. ReadPrefixFile and LoadPrefixTable must
// agree (same verdict, same counts), every row must be a valid prefix, and the
// table must hold, for every prefix, the origin of its last row and answer
// a longest-prefix match at each prefix's first and last address as a
// brute-force search over the rows does. Runs strict and with
// skip_bad+mask.
#include <map>
#include <optional>
#include <vector>

#include "core/prefixes/prefix_loader.h"
#include "core/prefixes/prefix_table.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using keel::core::IpAddress;
using keel::core::Prefix;
using keel::core::PrefixLoadOptions;

void Run(const std::string& path, const PrefixLoadOptions& options) {
  std::vector<std::pair<Prefix, uint32_t>> rows;
  auto read = keel::core::ReadPrefixFile(
      path, options, [&](const Prefix& p, uint32_t origin) {
        auto again = Prefix::Parse(p.ToString());
        FUZZ_CHECK(again.ok() && *again == p) << p.ToString();
        rows.emplace_back(p, origin);
      });
  keel::core::PrefixTable<uint32_t> table;
  auto loaded = keel::core::LoadPrefixTable(path, options, table);
  FUZZ_CHECK(read.ok() == loaded.ok())
      << read.status() << " vs " << loaded.status();
  if (!read.ok()) return;
  FUZZ_CHECK(read->rows == rows.size() && loaded->rows == rows.size());
  FUZZ_CHECK(read->bad_rows == loaded->bad_rows);
  FUZZ_CHECK(options.skip_bad || read->bad_rows == 0);
  std::map<Prefix, uint32_t> model;
  for (const auto& [p, origin] : rows) model[p] = origin;
  FUZZ_CHECK(table.size() == model.size())
      << table.size() << " vs " << model.size();
  FUZZ_CHECK(loaded->duplicates == rows.size() - model.size());
  for (const auto& [p, origin] : model) {
    auto value = table.Exact(p);
    FUZZ_CHECK(value && *value == origin) << p.ToString();
    for (const IpAddress& a : {p.address(), p.Last()}) {
      std::optional<std::pair<Prefix, uint32_t>> want;
      for (const auto& [q, o] : model) {
        if (q.Contains(a) && (!want || q.length() > want->first.length())) {
          want.emplace(q, o);
        }
      }
      auto got = table.Longest(a);
      FUZZ_CHECK(got && want && got->prefix == want->first &&
                 got->value == want->second)
          << a.ToString();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  keel::fuzz::MemFile file(keel::fuzz::AsText(data, size));
  Run(file.path(), PrefixLoadOptions{});
  Run(file.path(), PrefixLoadOptions{.skip_bad = true, .mask = true});
  return 0;
}
