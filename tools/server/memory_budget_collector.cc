#include "tools/server/memory_budget_collector.h"

#include "diagnostics/metric_builder.h"

namespace keel::tools {

std::vector<prometheus::MetricFamily> MemoryBudgetCollector::Collect() const {
  const alloc::MemoryBudget& budget = admission_->budget();
  // The last reading, not a fresh one: what the requests were judged by.
  const uint64_t resident = budget.resident();
  const int pressure = resident >= budget.limit_bytes()        ? 2
                       : resident >= budget.soft_limit_bytes() ? 1
                                                               : 0;
  diagnostics::MetricBuilder b;
  b.Gauge("keel_memory_limit_bytes",
          "The memory budget: resident bytes at which writes are refused "
          "(--memory-limit).")
      .Add(static_cast<double>(budget.limit_bytes()));
  b.Gauge("keel_memory_soft_limit_bytes",
          "The soft mark: above it keel purges and defragments eagerly.")
      .Add(static_cast<double>(budget.soft_limit_bytes()));
  b.Gauge("keel_memory_resident_bytes",
          "Resident bytes of the process as the memory budget last read "
          "them.")
      .Add(static_cast<double>(resident));
  b.Gauge("keel_memory_pressure",
          "0 below the soft mark, 1 at or above it, 2 at or above the limit.")
      .Add(pressure);
  b.Counter("keel_memory_rejected_requests_total",
            "Requests refused by the memory budget: writes answered 429, "
            "queries 422.")
      .Add(static_cast<double>(admission_->rejected_writes()),
           {{"kind", "write"}})
      .Add(static_cast<double>(admission_->rejected_queries()),
           {{"kind", "query"}});
  b.Counter("keel_memory_purges_total",
            "Purges of every arena by the memory budget above the soft mark.")
      .Add(static_cast<double>(budget.purges()));
  b.Counter("keel_memory_purged_bytes_total",
            "Bytes those purges returned to the kernel.")
      .Add(static_cast<double>(budget.purged_bytes()));
  return b.Take();
}

}  // namespace keel::tools
