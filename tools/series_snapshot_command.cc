// keel series dump --snapshot PATH: every sample of a snapshot in the import
// format, series by series (sorted by labels), each in time order, values
// printed so that `series import` reads back the same bits.
#include <algorithm>
#include <cstdio>
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

int RunDump(Args& args) {
  constexpr char kName[] = "series dump";
  if (auto s = args.Check({"snapshot"}); !s.ok()) return Fail(kName, s, 2);
  if (!args.Has("snapshot") || !args.positional().empty()) {
    return Fail(kName, absl::InvalidArgumentError("usage: --snapshot PATH"), 2);
  }
  auto store = snapshot::RestoreSnapshot(args.Get("snapshot"));
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

}  // namespace

KEEL_COMMAND("series dump",
             "print every sample of a snapshot in the import format", RunDump);

}  // namespace keel::tools
