#include "diagnostics/snapshot_collector.h"

#include <catch2/catch.hpp>
#include <string>

#include "prometheus/text_serializer.h"
#include "tests/diagnostics/metric_samples.h"

namespace keel::diagnostics {
namespace {

TEST_CASE("snapshot collector reports attempts, sizes and age") {
  SnapshotCollector collector;
  auto families = collector.Collect();
  CHECK(SampleValue(families, "keel_snapshots_total") == 0);
  CHECK(SampleValue(families, "keel_snapshot_failures_total") == 0);
  CHECK(SampleValue(families, "keel_snapshot_guarded_total") == 0);
  CHECK(FindFamily(families, "keel_snapshot_age_seconds") == nullptr);
  CHECK(FindFamily(families, "keel_snapshot_restore_bytes") == nullptr);

  collector.RecordSuccess(0.25, 4096);
  collector.RecordFailure();
  collector.RecordFailure();
  collector.RecordRestore(0.5, 8192, 1.7e9);
  collector.RecordGuarded();
  families = collector.Collect();
  CHECK(SampleValue(families, "keel_snapshots_total") == 1);
  CHECK(SampleValue(families, "keel_snapshot_failures_total") == 2);
  CHECK(SampleValue(families, "keel_snapshot_guarded_total") == 1);
  CHECK(SampleValue(families, "keel_snapshot_last_duration_seconds") == 0.25);
  CHECK(SampleValue(families, "keel_snapshot_last_bytes") == 4096);
  CHECK(SampleValue(families, "keel_snapshot_age_seconds") >= 0);
  CHECK(SampleValue(families, "keel_snapshot_age_seconds") < 60);
  CHECK(SampleValue(families, "keel_snapshot_last_success_timestamp_seconds") >
        1.6e9);
  CHECK(SampleValue(families, "keel_snapshot_restore_duration_seconds") == 0.5);
  CHECK(SampleValue(families, "keel_snapshot_restore_bytes") == 8192);
  std::string text = prometheus::TextSerializer().Serialize(families);
  CHECK_THAT(text, Catch::Contains("\nkeel_snapshot_failures_total 2\n"));
}

TEST_CASE("a restore sets the last-snapshot gauges from the file") {
  SnapshotCollector collector;
  const double written = 1.7e9;  // the restored file's header time
  collector.RecordRestore(2.5, 8192, written);
  auto families = collector.Collect();
  CHECK(SampleValue(families, "keel_snapshot_last_success_timestamp_seconds") ==
        written);
  CHECK(SampleValue(families, "keel_snapshot_last_bytes") == 8192);
  // The age counts from the file's time, not from the restore.
  CHECK(SampleValue(families, "keel_snapshot_age_seconds") > 1e7);
  CHECK(FindFamily(families, "keel_snapshot_last_duration_seconds") == nullptr);
  CHECK(SampleValue(families, "keel_snapshots_total") == 0);

  collector.RecordSuccess(0.25, 4096);
  families = collector.Collect();
  CHECK(SampleValue(families, "keel_snapshot_last_bytes") == 4096);
  CHECK(SampleValue(families, "keel_snapshot_age_seconds") < 60);
  CHECK(SampleValue(families, "keel_snapshot_restore_bytes") == 8192);
}

}  // namespace
}  // namespace keel::diagnostics
