// What a benchmark reads of a server's memory from outside: its resident
// pages split by kind (/proc/PID/smaps), and the samples of its /metrics.
//
//   MappedRss rss = ReadMappedRss(pid);   // file-backed (code) vs anonymous
//   MetricSamples m = ParseMetricsText(body);
//   m["keel_alloc_allocated_bytes{arena=\"all\"}"];
//
// Thread safety: the functions are pure (ReadMappedRss reads /proc).
#ifndef KEEL_BENCH_SERVE_PROCESS_MEMORY_H_
#define KEEL_BENCH_SERVE_PROCESS_MEMORY_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace keel::bench {

struct MappedRss {
  uint64_t file_backed = 0;  // code, libraries, mapped files
  uint64_t anonymous = 0;    // heap (jemalloc's mappings), stacks
};

// Sums the Rss lines of /proc/PID/smaps by the kind of mapping (all zero
// when unreadable).
MappedRss ReadMappedRss(int pid);

// A Prometheus text exposition's samples, "name{labels}" (as written) to
// value; comments and malformed lines are skipped.
using MetricSamples = std::map<std::string, double, std::less<>>;
MetricSamples ParseMetricsText(std::string_view text);

// The value of `key` in `samples`, 0 when absent.
double MetricValue(const MetricSamples& samples, std::string_view key);

}  // namespace keel::bench

#endif  // KEEL_BENCH_SERVE_PROCESS_MEMORY_H_
