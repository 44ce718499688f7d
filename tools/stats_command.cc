// keel stats: the Prometheus text exposition of this process's allocator.
#include <cstdio>
#include <memory>

#include "diagnostics/alloc_collector.h"
#include "prometheus/text_serializer.h"
#include "tools/command.h"

namespace keel::tools {
namespace {

int RunStats() {
  diagnostics::AllocCollector collector;
  std::string text =
      prometheus::TextSerializer().Serialize(collector.Collect());
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

CommandRun SetUpStats(CLI::App&) { return RunStats; }

}  // namespace

KEEL_COMMAND("stats", "print the allocator's Prometheus metrics", SetUpStats);

}  // namespace keel::tools
