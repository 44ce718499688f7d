// ProcessCollector: the standard process_* families that every Prometheus
// client library exports, with client_golang's names, help and semantics,
// read from /proc at each scrape:
//   process_cpu_seconds_total       user + system CPU time (/proc/self/stat)
//   process_resident_memory_bytes   resident set size (/proc/self/stat)
//   process_virtual_memory_bytes    virtual memory size (/proc/self/stat)
//   process_open_fds                entries of /proc/self/fd
//   process_max_fds                 the soft RLIMIT_NOFILE
//   process_start_time_seconds      start, Unix seconds (/proc/self/stat's
//                                   start time after /proc/stat's btime)
// A figure that cannot be read is left out of that scrape (as client_golang
// does), so dashboards see a gap rather than a wrong value.
//
//   metrics.Add(std::make_shared<ProcessCollector>());
//
// Thread safety: Collect may run on any thread.
#ifndef KEEL_TOOLS_SERVER_PROCESS_COLLECTOR_H_
#define KEEL_TOOLS_SERVER_PROCESS_COLLECTOR_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keel::tools {

// What /proc/PID/stat says of a process, in its own units.
struct ProcStat {
  uint64_t cpu_ticks = 0;       // utime + stime, clock ticks
  uint64_t start_ticks = 0;     // after boot, clock ticks
  uint64_t virtual_bytes = 0;   // vsize
  uint64_t resident_pages = 0;  // rss
};

// Parses the text of /proc/PID/stat (the command name, field 2, may hold
// spaces and parentheses: fields are counted after its last ')'). nullopt
// when a field is missing or not a number.
std::optional<ProcStat> ParseProcStat(std::string_view text);

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_PROCESS_COLLECTOR_H_
