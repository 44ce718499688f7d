#include "diagnostics/alloc_collector.h"

#include <string>

#include "alloc/defrag.h"
#include "alloc/stats.h"
#include "diagnostics/metric_builder.h"

namespace keel::diagnostics {
namespace {

struct MemoryField {
  const char* name;
  const char* help;
  uint64_t alloc::MemoryStats::*field;
};

constexpr MemoryField kMemoryFields[] = {
    {"keel_alloc_allocated_bytes",
     "Bytes in live allocations, counted at their size class.",
     &alloc::MemoryStats::allocated},
    {"keel_alloc_active_bytes", "Bytes in pages that hold live allocations.",
     &alloc::MemoryStats::active},
    {"keel_alloc_resident_bytes",
     "Bytes in physically resident pages mapped by the allocator.",
     &alloc::MemoryStats::resident},
    {"keel_alloc_mapped_bytes", "Bytes in extents mapped by the allocator.",
     &alloc::MemoryStats::mapped},
    {"keel_alloc_retained_bytes",
     "Bytes of address space kept after purging, not resident.",
     &alloc::MemoryStats::retained},
    {"keel_alloc_metadata_bytes", "Bytes of allocator metadata.",
     &alloc::MemoryStats::metadata},
    {"keel_alloc_dirty_bytes", "Bytes in freed pages not yet purged.",
     &alloc::MemoryStats::dirty},
    {"keel_alloc_muzzy_bytes", "Bytes in lazily purged (MADV_FREE) pages.",
     &alloc::MemoryStats::muzzy},
};

double Ratio(uint64_t numerator, uint64_t denominator) {
  return denominator == 0 ? 1.0 : static_cast<double>(numerator) / denominator;
}

}  // namespace

std::vector<prometheus::MetricFamily> AllocCollector::Collect() const {
  alloc::ProcessStats stats = alloc::CaptureStats();
  MetricBuilder b;
  for (const MemoryField& f : kMemoryFields) {
    auto family = b.Gauge(f.name, f.help);
    family.Add(static_cast<double>(stats.memory.*f.field), {{"arena", "all"}});
    for (const auto& arena : stats.arenas) {
      family.Add(static_cast<double>(arena.memory.*f.field),
                 {{"arena", arena.name}});
    }
  }
  auto fragmentation = b.Gauge("keel_alloc_fragmentation_ratio",
                               "Active bytes over allocated bytes (1 = none).");
  fragmentation.Add(Ratio(stats.memory.active, stats.memory.allocated),
                    {{"arena", "all"}});
  auto utilization =
      b.Gauge("keel_alloc_size_class_utilization",
              "Regions in use over regions in the class's current slabs.");
  auto wasted = b.Gauge("keel_alloc_size_class_wasted_bytes",
                        "Bytes of free regions inside the class's slabs.");
  auto purges = b.Counter("keel_alloc_purges_total",
                          "Purges of the arena's dirty and muzzy pages.");
  auto purged = b.Counter("keel_alloc_purged_bytes_total",
                          "Resident bytes released by purges.");
  for (const auto& arena : stats.arenas) {
    fragmentation.Add(Ratio(arena.memory.active, arena.memory.allocated),
                      {{"arena", arena.name}});
    for (const auto& c : arena.size_classes) {
      if (c.slabs == 0) continue;
      std::string size_class = std::to_string(c.size);
      utilization.Add(c.utilization(),
                      {{"arena", arena.name}, {"size_class", size_class}});
      wasted.Add(static_cast<double>(c.wasted_bytes()),
                 {{"arena", arena.name}, {"size_class", size_class}});
    }
    purges.Add(static_cast<double>(arena.purges), {{"arena", arena.name}});
    purged.Add(static_cast<double>(arena.purged_bytes),
               {{"arena", arena.name}});
  }
  alloc::DefragStats defrag = alloc::TotalDefragStats();
  b.Counter("keel_defrag_runs_total", "Completed defragmentation passes.")
      .Add(static_cast<double>(defrag.runs));
  b.Counter("keel_defrag_moved_bytes_total",
            "Bytes of live objects moved out of sparse slabs.")
      .Add(static_cast<double>(defrag.moved_bytes));
  b.Counter("keel_defrag_moved_objects_total",
            "Live objects moved out of sparse slabs.")
      .Add(static_cast<double>(defrag.moved_objects));
  b.Counter("keel_defrag_cpu_seconds_total",
            "Thread CPU time spent defragmenting.")
      .Add(defrag.cpu_seconds);
  b.Gauge("keel_defrag_fragmentation_before_ratio",
          "Active over allocated bytes when the last completed pass started.")
      .Add(defrag.fragmentation_before);
  b.Gauge("keel_defrag_fragmentation_after_ratio",
          "Active over allocated bytes when the last completed pass ended.")
      .Add(defrag.fragmentation_after);
  return b.Take();
}

}  // namespace keel::diagnostics
