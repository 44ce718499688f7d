#include "keel/diagnostics/snapshot_collector.h"

#include <catch2/catch.hpp>
#include <string>

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

double Value(const std::vector<prometheus::MetricFamily>& families,
             const std::string& name) {
  const auto* f = Find(families, name);
  REQUIRE(f != nullptr);
  return f->type == prometheus::MetricType::Counter ? f->metric[0].counter.value
                                                    : f->metric[0].gauge.value;
}

TEST_CASE("snapshot collector reports attempts, sizes and age") {
  SnapshotCollector collector;
  auto families = collector.Collect();
  CHECK(Value(families, "keel_snapshots_total") == 0);
  CHECK(Value(families, "keel_snapshot_failures_total") == 0);
  CHECK(Find(families, "keel_snapshot_age_seconds") == nullptr);
  CHECK(Find(families, "keel_snapshot_restore_bytes") == nullptr);

  collector.RecordSuccess(0.25, 4096);
  collector.RecordFailure();
  collector.RecordFailure();
  collector.RecordRestore(0.5, 8192);
  families = collector.Collect();
  CHECK(Value(families, "keel_snapshots_total") == 1);
  CHECK(Value(families, "keel_snapshot_failures_total") == 2);
  CHECK(Value(families, "keel_snapshot_last_duration_seconds") == 0.25);
  CHECK(Value(families, "keel_snapshot_last_bytes") == 4096);
  CHECK(Value(families, "keel_snapshot_age_seconds") >= 0);
  CHECK(Value(families, "keel_snapshot_age_seconds") < 60);
  CHECK(Value(families, "keel_snapshot_last_success_timestamp_seconds") >
        1.6e9);
  CHECK(Value(families, "keel_snapshot_restore_duration_seconds") == 0.5);
  CHECK(Value(families, "keel_snapshot_restore_bytes") == 8192);
  std::string text = prometheus::TextSerializer().Serialize(families);
  CHECK_THAT(text, Catch::Contains("\nkeel_snapshot_failures_total 2\n"));
}

}  // namespace
}  // namespace keel::diagnostics
