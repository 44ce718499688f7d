// keel series dump PATH (or --snapshot PATH): every sample of a snapshot in the
// import format, series by series (sorted by labels), each in time order,
// values printed so that `series import` reads back the same bits.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/series/series_text_format.h"
#include "snapshot/reader.h"
#include "tools/command.h"

namespace keel::tools {
namespace {

bool LabelsLess(const core::Labels& a, const core::Labels& b) {
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(),
      [](const core::Label& x, const core::Label& y) {
        return x.name != y.name ? x.name < y.name : x.value < y.value;
      });
}

struct DumpFlags {
  std::string snapshot;  // --snapshot PATH or PATH
};

int RunDump(const DumpFlags& flags) {
  constexpr char kName[] = "series dump";
  auto store = snapshot::RestoreSnapshot(InputPath(flags.snapshot));
  if (!store.ok()) return Fail(kName, store.status(), 1);
  const core::SeriesSet cut = (*store)->Cut();
  std::vector<const core::SeriesSet::Entry*> order;
  order.reserve(cut.series().size());
  for (const auto& e : cut.series()) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return LabelsLess(a->labels, b->labels);
  });
  std::string line;
  for (const auto* e : order) {
    for (auto it = cut.Samples(*e); it.Next();) {
      line = core::FormatSampleLine(e->labels, it.t(), it.v());
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
  }
  if (std::fflush(stdout) != 0) {
    return Fail(kName, absl::InternalError("writing stdout failed"), 1);
  }
  return 0;
}

CommandRun SetUpDump(CLI::App& app) {
  auto flags = std::make_shared<DumpFlags>();
  CLI::Option_group* which = app.add_option_group("snapshot", "one of these");
  which->add_option("SNAPSHOT", flags->snapshot,
                    "the snapshot file (from keel serve's data directory or "
                    "`keel series import --snapshot-out`)");
  which->add_option("--snapshot", flags->snapshot, "the same, as a flag");
  which->require_option(1);
  app.footer(
      "Prints every sample in the import format: `keel series import` reads\n"
      "the output back to the same bits.");
  return [flags] { return RunDump(*flags); };
}

}  // namespace

KEEL_COMMAND("series dump",
             "print every sample of a snapshot in the import format",
             SetUpDump);

}  // namespace keel::tools
