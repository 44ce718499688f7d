#include "diagnostics/process_memory_collector.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/io/line_reader.h"
#include "diagnostics/metric_builder.h"

namespace keel::diagnostics {
namespace {

// glibc's guard below a thread stack is a page or a few (pthread guardsize);
// its malloc heaps reserve megabytes of no-access address space above theirs.
constexpr uint64_t kMaxGuardBytes = uint64_t{1} << 20;

// A maps line is under 100 bytes but for its path (at most PATH_MAX).
constexpr core::LineReader::Options kProcFileOptions{.max_line_bytes = 8 << 10,
                                                     .buffer_bytes = 64 << 10};

uint64_t PageSize() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// The resident pages of `range` (0 if it is no longer mapped).
uint64_t ResidentBytes(const AddressRange& range,
                       std::vector<unsigned char>& pages) {
  const uint64_t page = PageSize();
  const uint64_t bytes = range.end - range.start;
  pages.resize((bytes + page - 1) / page);
  if (mincore(reinterpret_cast<void*>(range.start), bytes, pages.data()) != 0) {
    return 0;
  }
  return page * static_cast<uint64_t>(
                    std::count_if(pages.begin(), pages.end(),
                                  [](unsigned char p) { return p & 1; }));
}

}  // namespace

void StackMappings::AddLine(std::string_view text) {
  // "start-end perms offset dev inode [path]"; a path may hold spaces, but
  // only its start matters here.
  absl::string_view fields[6];
  size_t n = 0;
  for (absl::string_view field :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ' ',
                      absl::SkipEmpty())) {
    fields[n++] = field;
    if (n == 6) break;
  }
  std::pair<absl::string_view, absl::string_view> bounds =
      absl::StrSplit(fields[0], absl::MaxSplits('-', 1));
  AddressRange m;
  if (n < 5 || !absl::SimpleHexAtoi(bounds.first, &m.start) ||
      !absl::SimpleHexAtoi(bounds.second, &m.end) || m.end <= m.start) {
    previous_is_guard_ = false;
    return;
  }
  const absl::string_view perms = fields[1];
  const absl::string_view path = n == 6 ? fields[5] : "";
  if (path == "[stack]" ||
      (path.empty() && perms == "rw-p" && previous_is_guard_ &&
       previous_.end == m.start &&
       previous_.end - previous_.start <= kMaxGuardBytes)) {
    stacks_.push_back(m);
  }
  previous_ = m;
  previous_is_guard_ = path.empty() && perms == "---p";
}

bool ReadResidentMemory(ResidentMemory* out) {
  // statm: size resident shared text lib data dt, in pages; shared is the
  // file-backed and shared-memory pages.
  uint64_t resident = 0, shared = 0;
  {
    auto statm = core::LineReader::Open("/proc/self/statm", kProcFileOptions);
    std::string_view line;
    if (!statm.ok() || !statm->Next(&line)) return false;
    std::vector<absl::string_view> fields = absl::StrSplit(
        absl::string_view(line.data(), line.size()), ' ', absl::SkipEmpty());
    if (fields.size() < 3 || !absl::SimpleAtoi(fields[1], &resident) ||
        !absl::SimpleAtoi(fields[2], &shared)) {
      return false;
    }
  }
  auto maps = core::LineReader::Open("/proc/self/maps", kProcFileOptions);
  if (!maps.ok()) return false;
  StackMappings mappings;
  std::string_view line;
  while (maps->Next(&line)) mappings.AddLine(line);
  if (!maps->status().ok()) return false;
  std::vector<unsigned char> pages;
  uint64_t stacks = 0;
  for (const AddressRange& stack : mappings.stacks()) {
    stacks += ResidentBytes(stack, pages);
  }
  const uint64_t page = PageSize();
  out->file = shared * page;
  // The counters and the page tables are read at different moments: a
  // stack page touched in between must not make the rest negative.
  const uint64_t anonymous = resident > shared ? (resident - shared) * page : 0;
  out->thread_stacks = std::min(stacks, anonymous);
  out->anonymous = anonymous - out->thread_stacks;
  return true;
}

std::vector<prometheus::MetricFamily> ProcessMemoryCollector::Collect() const {
  ResidentMemory r;
  if (!ReadResidentMemory(&r)) return {};
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
