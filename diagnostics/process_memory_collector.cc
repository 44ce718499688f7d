#include "diagnostics/process_memory_collector.h"

#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "diagnostics/metric_builder.h"

namespace keel::diagnostics {
namespace {

// glibc's guard below a thread stack is a page or a few (pthread guardsize);
// its malloc heaps reserve megabytes of no-access address space above theirs.
constexpr uint64_t kMaxGuardBytes = uint64_t{1} << 20;

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;
  bool anonymous_guard = false;  // ---p with no path
};

enum class Kind { kFile, kStack, kAnonymous };

}  // namespace

ResidentMemory ParseSmaps(std::istream& smaps) {
  ResidentMemory out;
  Mapping previous;
  Kind kind = Kind::kAnonymous;
  std::string line;
  while (std::getline(smaps, line)) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.empty()) continue;
    // A mapping's header: "start-end perms offset dev inode [path]".
    if (fields[0].back() != ':') {
      std::pair<absl::string_view, absl::string_view> range =
          absl::StrSplit(fields[0], '-');
      Mapping m;
      if (fields.size() < 5 || !absl::SimpleHexAtoi(range.first, &m.start) ||
          !absl::SimpleHexAtoi(range.second, &m.end)) {
        continue;
      }
      const absl::string_view perms = fields[1];
      const absl::string_view path = fields.size() >= 6 ? fields[5] : "";
      if (!path.empty() && path.front() == '/') {
        kind = Kind::kFile;
      } else if (path == "[stack]" ||
                 (path.empty() && perms == "rw-p" && previous.anonymous_guard &&
                  previous.end == m.start &&
                  previous.end - previous.start <= kMaxGuardBytes)) {
        kind = Kind::kStack;
      } else {
        kind = Kind::kAnonymous;
      }
      m.anonymous_guard = path.empty() && perms == "---p";
      previous = m;
      continue;
    }
    uint64_t kib = 0;
    if (fields[0] == "Rss:" && fields.size() >= 2 &&
        absl::SimpleAtoi(fields[1], &kib)) {
      uint64_t& sum = kind == Kind::kFile    ? out.file
                      : kind == Kind::kStack ? out.thread_stacks
                                             : out.anonymous;
      sum += kib << 10;
    }
  }
  return out;
}

std::vector<prometheus::MetricFamily> ProcessMemoryCollector::Collect() const {
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return {};
  const ResidentMemory r = ParseSmaps(smaps);
  MetricBuilder b;
  b.Gauge("keel_rss_bytes",
          "Resident bytes by kind: file (code, libraries), thread_stacks, "
          "anonymous (the allocator's pages and the rest).")
      .Add(static_cast<double>(r.file), {{"kind", "file"}})
      .Add(static_cast<double>(r.thread_stacks), {{"kind", "thread_stacks"}})
      .Add(static_cast<double>(r.anonymous), {{"kind", "anonymous"}});
  return b.Take();
}

}  // namespace keel::diagnostics
