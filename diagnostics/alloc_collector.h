// AllocCollector: the alloc layer's figures as Prometheus metrics, computed
// at scrape time (the epoch is refreshed on every Collect).
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   exposer.RegisterCollectable(std::make_shared<keel::diagnostics::AllocCollector>());
//
// Metrics (gauges unless _total): keel_alloc_{allocated,active,resident,
// mapped,retained,metadata,dirty,muzzy}_bytes{arena} with arena="all" for the
// whole process; keel_alloc_fragmentation_ratio{arena} = active / allocated;
// keel_alloc_size_class_utilization{arena,size_class} and
// keel_alloc_size_class_wasted_bytes{arena,size_class} for every small class
// with slabs; keel_alloc_purges_total{arena},
// keel_alloc_purged_bytes_total{arena}; for every Defragmenter in the
// process together, keel_defrag_{runs,moved_bytes,moved_objects,
// cpu_seconds}_total and keel_defrag_fragmentation_{before,after}_ratio of
// the last completed pass.
//
// Thread safety: Collect may run on any thread, concurrently with allocation.
#ifndef KEEL_DIAGNOSTICS_ALLOC_COLLECTOR_H_
#define KEEL_DIAGNOSTICS_ALLOC_COLLECTOR_H_

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keel::diagnostics {

class AllocCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace keel::diagnostics

#endif  // KEEL_DIAGNOSTICS_ALLOC_COLLECTOR_H_
