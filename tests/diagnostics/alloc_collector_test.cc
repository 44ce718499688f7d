#include "diagnostics/alloc_collector.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "alloc/arena.h"
#include "alloc/defrag.h"
#include "alloc/purge.h"
#include "prometheus/text_serializer.h"
#include "tests/diagnostics/metric_samples.h"

namespace keel::diagnostics {
namespace {

TEST_CASE("collector reports arena figures computed at scrape time") {
  alloc::Arena arena("collected");
  AllocCollector collector;
  std::vector<void*> objects;
  for (int i = 0; i < 1000; ++i) objects.push_back(arena.Allocate(100));
  auto families = collector.Collect();
  for (const char* name :
       {"keel_alloc_allocated_bytes", "keel_alloc_active_bytes",
        "keel_alloc_resident_bytes", "keel_alloc_mapped_bytes",
        "keel_alloc_retained_bytes", "keel_alloc_metadata_bytes",
        "keel_alloc_dirty_bytes", "keel_alloc_muzzy_bytes",
        "keel_alloc_fragmentation_ratio", "keel_alloc_size_class_utilization",
        "keel_alloc_size_class_wasted_bytes", "keel_alloc_purges_total",
        "keel_alloc_purged_bytes_total"}) {
    INFO(name);
    REQUIRE(FindFamily(families, name) != nullptr);
  }
  REQUIRE(SampleValue(families, "keel_alloc_allocated_bytes",
                      {{"arena", "collected"}}) == 112000);
  REQUIRE(SampleValue(families, "keel_alloc_allocated_bytes",
                      {{"arena", "all"}}) >= 112000);
  REQUIRE(SampleValue(families, "keel_alloc_size_class_utilization",
                      {{"arena", "collected"}, {"size_class", "112"}}) > 0.9);

  for (int i = 0; i < 1000; i += 2) arena.Deallocate(objects[i], 100);
  alloc::Purge(arena);
  families = collector.Collect();  // a new scrape sees the change at once
  REQUIRE(SampleValue(families, "keel_alloc_allocated_bytes",
                      {{"arena", "collected"}}) == 56000);
  REQUIRE(SampleValue(families, "keel_alloc_purges_total",
                      {{"arena", "collected"}}) == 1);
  REQUIRE(SampleValue(families, "keel_alloc_size_class_wasted_bytes",
                      {{"arena", "collected"}, {"size_class", "112"}}) >=
          500 * 112);
  std::string text = prometheus::TextSerializer().Serialize(families);
  REQUIRE(text.find("keel_alloc_purges_total{arena=\"collected\"} 1") !=
          std::string::npos);
  for (int i = 1; i < 1000; i += 2) arena.Deallocate(objects[i], 100);
}

// Walks a list of pointers for the Defragmenter.
class PointerList : public alloc::DefragClient {
 public:
  explicit PointerList(std::vector<void*>& pointers) : pointers_(pointers) {}
  std::optional<uint64_t> DefragWalk(uint64_t,
                                     alloc::Defragmenter& defrag) override {
    for (void*& p : pointers_) {
      if (void* moved = defrag.MaybeMove(p, 100)) p = moved;
    }
    return std::nullopt;
  }

 private:
  std::vector<void*>& pointers_;
};

TEST_CASE("collector reports the process's defragmentation counters") {
  alloc::Arena arena("defragmented");
  std::vector<void*> objects;
  for (int i = 0; i < 20000; ++i) objects.push_back(arena.Allocate(100));
  std::vector<void*> survivors;
  for (int i = 0; i < 20000; ++i) {
    if (i % 4 == 0) {
      survivors.push_back(objects[i]);
    } else {
      arena.Deallocate(objects[i], 100);
    }
  }
  AllocCollector collector;
  const double runs =
      SampleValue(collector.Collect(), "keel_defrag_runs_total", {});
  alloc::Defragmenter defrag(arena);
  PointerList list(survivors);
  REQUIRE(defrag.RunSlice(list));
  auto families = collector.Collect();
  REQUIRE(SampleValue(families, "keel_defrag_runs_total", {}) == runs + 1);
  REQUIRE(SampleValue(families, "keel_defrag_moved_bytes_total", {}) >=
          static_cast<double>(defrag.stats().moved_bytes));
  REQUIRE(SampleValue(families, "keel_defrag_moved_objects_total", {}) > 0);
  REQUIRE(SampleValue(families, "keel_defrag_cpu_seconds_total", {}) > 0);
  REQUIRE(SampleValue(families, "keel_defrag_fragmentation_before_ratio", {}) >
          3);
  REQUIRE(SampleValue(families, "keel_defrag_fragmentation_after_ratio", {}) <
          1.1);
  for (void* p : survivors) arena.Deallocate(p, 100);
}

}  // namespace
}  // namespace keel::diagnostics
