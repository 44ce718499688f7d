#include "tools/server/process_collector.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "diagnostics/metric_builder.h"

namespace keel::tools {
namespace {

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// /proc/stat's "btime": the boot time, Unix seconds.
std::optional<uint64_t> BootTime() {
  std::optional<std::string> text = ReadFile("/proc/stat");
  if (!text) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    uint64_t seconds;
    if (absl::StartsWith(line, "btime ") &&
        absl::SimpleAtoi(line.substr(6), &seconds)) {
      return seconds;
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> OpenFds() {
  std::error_code ec;
  uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  if (ec) return std::nullopt;
  // The iterator's own descriptor was open while it counted (client_golang
  // counts it too, with Readdirnames).
  return n;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // Fields from 3 (state) on.
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(text.data() + close + 1, text.size() - close - 1), ' ',
      absl::SkipEmpty());
  auto field = [&](size_t number, uint64_t* out) {
    return number - 3 < fields.size() &&
           absl::SimpleAtoi(fields[number - 3], out);
  };
  ProcStat stat;
  uint64_t utime, stime;
  if (!field(14, &utime) || !field(15, &stime) ||
      !field(22, &stat.start_ticks) || !field(23, &stat.virtual_bytes) ||
      !field(24, &stat.resident_pages)) {
    return std::nullopt;
  }
  stat.cpu_ticks = utime + stime;
  return stat;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  diagnostics::MetricBuilder b;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::optional<std::string> text = ReadFile("/proc/self/stat");
  std::optional<ProcStat> stat =
      text ? ParseProcStat(*text) : std::optional<ProcStat>();
  if (stat) {
    b.Counter("process_cpu_seconds_total",
              "Total user and system CPU time spent in seconds.")
        .Add(static_cast<double>(stat->cpu_ticks) / ticks);
    b.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
        .Add(static_cast<double>(stat->resident_pages) *
             static_cast<double>(sysconf(_SC_PAGESIZE)));
    b.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
        .Add(static_cast<double>(stat->virtual_bytes));
    if (std::optional<uint64_t> boot = BootTime()) {
      b.Gauge("process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.")
          .Add(static_cast<double>(*boot) +
               static_cast<double>(stat->start_ticks) / ticks);
    }
  }
  if (std::optional<uint64_t> fds = OpenFds()) {
    b.Gauge("process_open_fds", "Number of open file descriptors.")
        .Add(static_cast<double>(*fds));
  }
  if (rlimit limit; getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    b.Gauge("process_max_fds", "Maximum number of open file descriptors.")
        .Add(static_cast<double>(limit.rlim_cur));
  }
  return b.Take();
}

}  // namespace keel::tools
