#include "keel/diagnostics/alloc_collector.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "keel/alloc/arena.h"
#include "keel/alloc/purge.h"
#include "prometheus/text_serializer.h"

namespace keel::diagnostics {
namespace {

const prometheus::MetricFamily* Find(
    const std::vector<prometheus::MetricFamily>& families,
    const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double Value(const prometheus::MetricFamily& family, const std::string& arena,
             const std::string& size_class = "") {
  for (const auto& m : family.metric) {
    bool arena_matches = false, class_matches = size_class.empty();
    for (const auto& l : m.label) {
      arena_matches |= l.name == "arena" && l.value == arena;
      class_matches |= l.name == "size_class" && l.value == size_class;
    }
    if (arena_matches && class_matches) {
      return family.type == prometheus::MetricType::Counter ? m.counter.value
                                                            : m.gauge.value;
    }
  }
  FAIL("no sample for arena " << arena << " in " << family.name);
  return 0;
}

TEST_CASE("collector reports arena figures computed at scrape time") {
  alloc::Arena arena("collected");
  AllocCollector collector;
  std::vector<void*> objects;
  for (int i = 0; i < 1000; ++i) objects.push_back(arena.allocate(100));
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
    REQUIRE(Find(families, name) != nullptr);
  }
  REQUIRE(Value(*Find(families, "keel_alloc_allocated_bytes"), "collected") ==
          112000);
  REQUIRE(Value(*Find(families, "keel_alloc_allocated_bytes"), "all") >=
          112000);
  REQUIRE(Value(*Find(families, "keel_alloc_size_class_utilization"),
                "collected", "112") > 0.9);

  for (int i = 0; i < 1000; i += 2) arena.deallocate(objects[i], 100);
  alloc::Purge(arena);
  families = collector.Collect();  // a new scrape sees the change at once
  REQUIRE(Value(*Find(families, "keel_alloc_allocated_bytes"), "collected") ==
          56000);
  REQUIRE(Value(*Find(families, "keel_alloc_purges_total"), "collected") == 1);
  REQUIRE(Value(*Find(families, "keel_alloc_size_class_wasted_bytes"),
                "collected", "112") >= 500 * 112);
  std::string text = prometheus::TextSerializer().Serialize(families);
  REQUIRE(text.find("keel_alloc_purges_total{arena=\"collected\"} 1") !=
          std::string::npos);
  for (int i = 1; i < 1000; i += 2) arena.deallocate(objects[i], 100);
}

}  // namespace
}  // namespace keel::diagnostics
