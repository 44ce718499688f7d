// ProcessMemoryCollector: the process's resident memory by kind, so that
// /metrics accounts for what the allocator's gauges do not hold: code and
// libraries (file-backed pages) and thread stacks, read from
// /proc/self/smaps at each scrape.
//
//   metrics.Add(std::make_shared<ProcessMemoryCollector>());
//
// Metric: keel_rss_bytes{kind} with kind
//   file           file-backed pages: code, libraries, mapped files
//   thread_stacks  anonymous pages of thread stacks (the main thread's
//                  [stack], and every read-write mapping that sits right
//                  above a small no-access guard mapping, as glibc lays out
//                  a thread's stack)
//   anonymous      every other anonymous page: the allocator's mappings
//                  (keel_alloc_resident_bytes{arena="all"}) and anything
//                  mapped outside it
// The kinds sum to the RSS smaps reports. Absent when smaps cannot be read.
//
// Thread safety: Collect may run on any thread. It walks every mapping's
// page tables (as reading smaps does): a few milliseconds for a process of
// gigabytes, once a scrape.
#ifndef KEEL_DIAGNOSTICS_PROCESS_MEMORY_COLLECTOR_H_
#define KEEL_DIAGNOSTICS_PROCESS_MEMORY_COLLECTOR_H_

#include <cstdint>
#include <istream>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keel::diagnostics {

struct ResidentMemory {
  uint64_t file = 0;
  uint64_t thread_stacks = 0;
  uint64_t anonymous = 0;  // the rest of the anonymous pages
};

// Sums the Rss lines of an smaps listing by kind (see above); lines it does
// not understand are skipped.
ResidentMemory ParseSmaps(std::istream& smaps);

class ProcessMemoryCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace keel::diagnostics

#endif  // KEEL_DIAGNOSTICS_PROCESS_MEMORY_COLLECTOR_H_
