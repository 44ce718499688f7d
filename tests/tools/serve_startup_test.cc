// keel serve's start: it listens before it restores, answers /-/healthy and
// /metrics during the restore, /-/ready and every other endpoint 503 until
// the restore is done, and reports the restored snapshot's age at once.
// The restore is held in its progress callback while the test looks.
#include <catch2/catch.hpp>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "core/series/series_store.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tests/testing/serve_harness.h"
#include "tools/server/serve_app.h"

namespace keel::tools {
namespace {

using testing::Http;
using testing::kT0;
using testing::TempDir;
using testing::TestConfig;

// A snapshot of `series` series, three samples each, at DIR/series.snap;
// returns the time its header records.
double WriteSnapshot(const std::string& data_dir, int series) {
  core::SeriesStore store;
  for (int i = 0; i < series; ++i) {
    core::Labels labels = {{"__name__", "restored"},
                           {"instance", "host-" + std::to_string(i)}};
    for (int t = 0; t < 3; ++t) {
      auto appended = store.Append(labels, kT0 + t * 15000, t);
      REQUIRE(appended.ok());
    }
  }
  std::filesystem::create_directories(data_dir);
  const std::string path = data_dir + "/series.snap";
  REQUIRE(snapshot::WriteSnapshot(store, path).ok());
  auto info = snapshot::VerifySnapshot(path);
  REQUIRE(info.ok());
  return static_cast<double>(info->created_unix_ms) / 1000;
}

double Value(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  REQUIRE(at != std::string::npos);
  return std::stod(metrics.substr(at + series.size() + 2));
}

TEST_CASE("during the restore only health, readiness and metrics answer") {
  TempDir dir("serve_startup");
  ServeConfig config = TestConfig(dir);
  const double written = WriteSnapshot(config.data_dir, 3000);

  auto listening = ServeApp::Listen(config);
  REQUIRE(listening.ok());
  ServeApp& app = **listening;
  const int port = app.port();
  REQUIRE(port > 0);
  CHECK_FALSE(app.ready());

  // The first progress report holds the restore until the test is done.
  std::promise<void> restoring, release;
  std::shared_future<void> released = release.get_future().share();
  bool first = true;
  snapshot::RestoreProgressOptions progress;
  progress.interval_seconds = 0;
  progress.callback = [&](const snapshot::RestoreProgress&) {
    if (!first) return;
    first = false;
    restoring.set_value();
    released.wait();
  };
  std::future<absl::Status> loaded =
      std::async(std::launch::async, [&] { return app.Load(progress); });
  restoring.get_future().wait();

  CHECK_FALSE(app.ready());
  testing::HttpReply r = Http(port, "GET", "/-/ready");
  CHECK(r.status == 503);
  CHECK(Http(port, "GET", "/-/healthy").status == 200);
  r = Http(port, "GET", "/metrics");
  CHECK(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("\nprocess_resident_memory_bytes "));
  CHECK_THAT(r.body, Catch::Contains("\nkeel_build_info{"));
  CHECK_THAT(r.body, Catch::Contains("\nkeel_snapshot_failures_total 0\n"));
  CHECK_THAT(r.body, !Catch::Contains("\nkeel_series "));  // no store yet
  CHECK(Value(r.body,
              "keel_http_requests_total{code=\"503\",handler=\"/-/ready\"}") ==
        1);
  for (const char* target : {"/api/v1/query?query=up", "/v1/lookup?ip=1.0.0.1",
                             "/v1/no-such-path", "/api/v1/label/job/values"}) {
    INFO(target);
    r = Http(port, "GET", target);
    CHECK(r.status == 503);
    CHECK_THAT(r.body, Catch::Contains("starting"));
  }
  CHECK(Http(port, "POST", "/api/v1/write", "x").status == 503);

  release.set_value();
  REQUIRE(loaded.get().ok());
  CHECK(app.ready());
  CHECK(Http(port, "GET", "/-/ready").status == 200);
  CHECK(Http(port, "GET", "/v1/lookup?ip=1.0.0.1").status == 200);
  CHECK(Http(port, "GET", "/v1/no-such-path").status == 404);
  r = Http(port, "GET",
           "/api/v1/query?query=count(restored)&time=" +
               std::to_string(kT0 / 1000 + 30));
  CHECK(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("\"3000\""));

  // The snapshot gauges come from the restored file, before any snapshot.
  r = Http(port, "GET", "/metrics");
  CHECK(Value(r.body, "keel_snapshot_last_success_timestamp_seconds") ==
        Approx(written).margin(0.001));
  CHECK(Value(r.body, "keel_snapshot_age_seconds") >= 0);
  CHECK(Value(r.body, "keel_snapshots_total") == 0);
  CHECK(Value(r.body, "keel_series") == 3000);
  REQUIRE(app.Stop().ok());
}

TEST_CASE("a start that fails after listening stops serving") {
  TempDir dir("serve_startup");
  ServeConfig config = TestConfig(dir);
  config.pfx2as = dir.path() + "/missing.dat";
  auto listening = ServeApp::Listen(config);
  REQUIRE(listening.ok());
  const int port = (*listening)->port();
  absl::Status s = (*listening)->Load();
  CHECK_FALSE(s.ok());
  CHECK_THAT(std::string(s.message()), Catch::Contains("missing.dat"));
  CHECK(Http(port, "GET", "/-/ready").status == 503);
  REQUIRE((*listening)->Stop().ok());  // nothing restored: no snapshot
  CHECK_FALSE(std::filesystem::exists(config.data_dir + "/series.snap"));
}

}  // namespace
}  // namespace keel::tools
