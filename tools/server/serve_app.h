// ServeApp: everything `keel serve` runs, assembled from keel's public API:
// the ip2asn RangeTable and the pfx2as PrefixTable (read-only), the
// SeriesStore fed by remote write, its snapshots, and the HTTP server with
// /v1/lookup, /v1/prefix, the Prometheus API, /metrics and /v1/snapshot.
//
//   auto app = ServeApp::Start(config);        // listens, loads, restores
//   if (!app.ok()) return Fail(...);
//   ... wait for SIGTERM ...
//   (*app)->Stop();                            // final snapshot, then exit
//
// Start is Listen then Load. Listen starts the HTTP server with what
// answers while the rest starts, as Prometheus does during its WAL replay:
// /-/healthy (200), /-/ready (503 until Load is done) and /metrics (the
// process, build, HTTP, allocator and snapshot families); every other
// request answers 503. Load then loads the tables, restores the newest
// snapshot that verifies (see SnapshotManager; its progress is logged every
// few seconds), opens every endpoint and starts a background thread that
// takes a snapshot every snapshot interval and applies retention once a
// minute (or once a chunk window, if shorter). Each event logs one line.
// With a memory limit, Load also starts an alloc::MemoryBudget over the
// process's resident bytes and applies it to the API (memory_admission.h).
// GET /debug/pprof/heap (heap_profile_api.h) answers from Listen on, so
// that a restore can be profiled too.
//
// Thread safety: Load once, then Stop from one thread, once (the destructor
// calls it); Stop waits for nothing Load does, so not during Load.
#ifndef KEEL_TOOLS_SERVER_SERVE_APP_H_
#define KEEL_TOOLS_SERVER_SERVE_APP_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "alloc/memory_budget.h"
#include "core/series/series_store.h"
#include "diagnostics/snapshot_collector.h"
#include "snapshot/reader.h"
#include "tools/server/forward/forwarder.h"
#include "tools/server/heap_profile_api.h"
#include "tools/server/http_server.h"
#include "tools/server/lookup_api.h"
#include "tools/server/memory_admission.h"
#include "tools/server/metrics_endpoint.h"
#include "tools/server/prom_api.h"
#include "tools/server/self_scrape.h"
#include "tools/server/serve_config.h"
#include "tools/server/snapshot_manager.h"

namespace keel::tools {

class ServeApp {
 public:
  // Listen, then Load with the default progress logging.
  static absl::StatusOr<std::unique_ptr<ServeApp>> Start(
      const ServeConfig& config);
  // Checks the configuration and listens (see above). Errors: the auth
  // token file, the listen address.
  static absl::StatusOr<std::unique_ptr<ServeApp>> Listen(
      const ServeConfig& config);
  // Loads the tables and restores the snapshot, then serves everything and
  // reports ready. The restore's progress is logged every
  // `progress.interval_seconds` and handed to `progress.callback` too, if
  // set. On error the app serves nothing more: Stop it.
  absl::Status Load(const snapshot::RestoreProgressOptions& progress = {});
  ~ServeApp();

  // The HTTP port (the chosen one when the config said port 0).
  int port() const { return http_.port(); }
  // Whether Load is done (what /-/ready answers).
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // REQUIRES: ready().
  core::SeriesStore& store() { return *store_; }

  // Rebuilds the lookup tables from their files and swaps them in (SIGHUP;
  // POST /v1/reload is the same over HTTP), after a running reload ends.
  // On error the old tables stay served; the error names the file. Before
  // Load is done: FailedPrecondition (the tables it loads are the files').
  absl::Status ReloadTables() {
    if (!ready()) {
      return absl::FailedPreconditionError(
          "the tables are still loading; nothing to reload yet");
    }
    return lookup_->tables().Reload(TableReloader::kWait).status();
  }

  // Stops serving HTTP and the background thread, then takes the final
  // snapshot (if there is a data directory). Returns its outcome.
  absl::Status Stop();

 private:
  explicit ServeApp(const ServeConfig& config);
  void Background();
  HttpResponse TakeSnapshot(const HttpRequest& request);
  // Takes a snapshot; with a forwarder, then records the queue position
  // the snapshot holds everything before (where a restart replays from).
  absl::StatusOr<snapshot::WriteStats> Snapshot(std::string_view reason);

  ServeConfig config_;
  std::shared_ptr<diagnostics::SnapshotCollector> snapshot_collector_;
  std::shared_ptr<HeapProfileApi> heap_profiles_;
  std::unique_ptr<SnapshotManager> snapshots_;  // null without a data dir
  std::unique_ptr<core::SeriesStore> store_;
  // Null without remote-write. Before the API and the metrics that point
  // to it, so that it outlives them.
  std::unique_ptr<Forwarder> forwarder_;
  // Null without --memory-limit. After the store, so that the budget's
  // tick stops before the store goes.
  std::unique_ptr<alloc::MemoryBudget> memory_budget_;
  std::unique_ptr<MemoryAdmission> memory_admission_;
  std::unique_ptr<LookupApi> lookup_;
  std::unique_ptr<PromApi> prom_;
  MetricsEndpoint metrics_;
  HttpServer http_;
  // Null without self-scrape-interval. After the metrics and the API it
  // imports into: it stops first.
  std::unique_ptr<SelfScrape> self_scrape_;
  std::thread background_;

  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through it.
  std::mutex mu_;
  std::condition_variable stop_cv_;  // notified when stopping_ is set
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ = false;
  // Set once Load has restored the store and opened everything.
  std::atomic<bool> ready_{false};
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_SERVE_APP_H_
