// ProcessMemoryCollector: the process's resident memory by kind, so that
// /metrics accounts for what the allocator's gauges do not hold: code and
// libraries (file-backed pages) and thread stacks.
//
//   metrics.Add(std::make_shared<ProcessMemoryCollector>());
//
// Metric: keel_rss_bytes{kind} with kind
//   file           file-backed and shared-memory pages: code, libraries,
//                  mapped files (/proc/self/statm's shared)
//   thread_stacks  resident pages of thread stacks (the main thread's
//                  [stack], and every read-write mapping that sits right
//                  above a small no-access guard mapping, as glibc lays out
//                  a thread's stack)
//   anonymous      every other anonymous page: the allocator's mappings
//                  (keel_alloc_resident_bytes{arena="all"}) and anything
//                  mapped outside it
// The kinds sum to the RSS /proc/self/statm reports. Absent when statm or
// /proc/self/maps cannot be read.
//
// A scrape reads statm (the kernel's counters), the mapping list
// /proc/self/maps (no page tables walked) and the residency of the stacks
// alone (mincore), not /proc/self/smaps: that walks the page tables of
// every mapping, the allocator's gigabytes included, and prints two dozen
// lines for each.
//
// Thread safety: Collect may run on any thread.
#ifndef KEEL_DIAGNOSTICS_PROCESS_MEMORY_COLLECTOR_H_
#define KEEL_DIAGNOSTICS_PROCESS_MEMORY_COLLECTOR_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keel::diagnostics {

struct AddressRange {
  uint64_t start = 0;
  uint64_t end = 0;  // one past the last byte
  bool operator==(const AddressRange&) const = default;
};

// Finds the thread stacks (see above) in a /proc/<pid>/maps listing fed to
// it line by line; lines it does not understand are skipped.
class StackMappings {
 public:
  void AddLine(std::string_view line);
  const std::vector<AddressRange>& stacks() const { return stacks_; }

 private:
  AddressRange previous_;
  bool previous_is_guard_ = false;  // ---p with no path
  std::vector<AddressRange> stacks_;
};

struct ResidentMemory {
  uint64_t file = 0;
  uint64_t thread_stacks = 0;
  uint64_t anonymous = 0;  // the rest of the anonymous pages
};

// This process's resident memory by kind, or false when /proc cannot be
// read.
bool ReadResidentMemory(ResidentMemory* out);

class ProcessMemoryCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace keel::diagnostics

#endif  // KEEL_DIAGNOSTICS_PROCESS_MEMORY_COLLECTOR_H_
