// MemoryBudgetCollector: keel serve's memory budget (--memory-limit) as
// Prometheus metrics, read at scrape time:
//   keel_memory_limit_bytes, keel_memory_soft_limit_bytes   the two marks
//   keel_memory_resident_bytes      the resident bytes the budget sees
//   keel_memory_pressure            0 below the soft mark, 1 at or above it,
//                                   2 at or above the limit
//   keel_memory_rejected_requests_total{kind="write"|"query"}
//   keel_memory_purges_total, keel_memory_purged_bytes_total
//                                   the budget's purges above the soft mark
// Registered only when a limit is set.
//
//   metrics.Add(std::make_shared<MemoryBudgetCollector>(&admission));
//
// Thread safety: Collect may run on any thread.
// REQUIRES: the admission (and its budget) outlives the collector.
#ifndef KEEL_TOOLS_SERVER_MEMORY_BUDGET_COLLECTOR_H_
#define KEEL_TOOLS_SERVER_MEMORY_BUDGET_COLLECTOR_H_

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "tools/server/memory_admission.h"

namespace keel::tools {

class MemoryBudgetCollector : public prometheus::Collectable {
 public:
  explicit MemoryBudgetCollector(const MemoryAdmission* admission)
      : admission_(admission) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const MemoryAdmission* admission_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_MEMORY_BUDGET_COLLECTOR_H_
