#include "tools/server/serve_app.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "alloc/purge.h"
#include "alloc/thread_arena.h"
#include "diagnostics/alloc_collector.h"
#include "diagnostics/process_memory_collector.h"
#include "diagnostics/series_store_collector.h"
#include "tools/json.h"
#include "tools/server/api_collector.h"
#include "tools/server/build_info_collector.h"
#include "tools/server/event_log.h"
#include "tools/server/forward/forward_collector.h"
#include "tools/server/memory_budget_collector.h"
#include "tools/server/process_collector.h"

namespace keel::tools {
namespace {

constexpr int64_t kRetentionPeriodMs = 60 * 1000;
// How often the background thread looks for arenas whose allocated bytes
// stopped changing: when writes stop, their freed pages go back to the
// kernel within two periods.
constexpr absl::Duration kQuietPurgePeriod = absl::Seconds(1);
// A lookup batch of 10,000 IPv6 addresses in JSON stays well under this.
constexpr size_t kLookupBodyLimit = 1 << 20;

}  // namespace

ServeApp::ServeApp(const ServeConfig& config)
    : config_(config),
      snapshot_collector_(std::make_shared<diagnostics::SnapshotCollector>()),
      heap_profiles_(std::make_shared<HeapProfileApi>()) {}

ServeApp::~ServeApp() { Stop().IgnoreError(); }

absl::StatusOr<std::unique_ptr<ServeApp>> ServeApp::Start(
    const ServeConfig& config) {
  auto app = Listen(config);
  if (!app.ok()) return app.status();
  if (absl::Status s = (*app)->Load(); !s.ok()) return s;
  return app;
}

absl::StatusOr<std::unique_ptr<ServeApp>> ServeApp::Listen(
    const ServeConfig& config) {
  std::unique_ptr<ServeApp> app(new ServeApp(config));
  HttpServer& http = app->http_;
  MetricsEndpoint& metrics = app->metrics_;
  metrics.Add(std::make_shared<ProcessCollector>());
  metrics.Add(std::make_shared<BuildInfoCollector>());
  metrics.Add(http.metrics());
  metrics.Add(std::make_shared<diagnostics::AllocCollector>());
  metrics.Add(std::make_shared<diagnostics::ProcessMemoryCollector>());
  metrics.Add(app->snapshot_collector_);
  metrics.Add(app->heap_profiles_);
  metrics.Register(&http);
  app->heap_profiles_->Register(&http);
  http.Route("GET", "/-/healthy", [](const HttpRequest&) {
    HttpResponse r = HttpResponse::Json(200, "keel is Healthy.\n");
    r.content_type = "text/plain";
    return r;
  });
  ServeApp* self = app.get();
  http.Route("GET", "/-/ready", [self](const HttpRequest&) {
    const bool ready = self->ready();
    HttpResponse r =
        HttpResponse::Json(ready ? 200 : 503, ready ? "keel is Ready.\n"
                                                    : "Service Unavailable\n");
    r.content_type = "text/plain";
    return r;
  });
  HttpServerOptions options;
  options.listen = config.listen;
  options.threads = config.threads;
  options.read_timeout_ms = config.read_timeout_ms;
  options.idle_timeout_ms = config.idle_timeout_ms;
  options.max_concurrent_writes = config.max_concurrent_writes;
  options.max_concurrent_queries = config.max_concurrent_queries;
  options.starting = true;
  if (!config.auth_token_file.empty()) {
    auto token = ReadAuthToken(config.auth_token_file);
    if (!token.ok()) return token.status();
    options.auth_token = *std::move(token);
  }
  if (absl::Status s = http.Start(options); !s.ok()) return s;
  LogEvent(absl::StrCat("listening on ", config.listen, " (port ", http.port(),
                        "); /-/ready answers 503 until the start is done"));
  return app;
}

absl::Status ServeApp::Load(const snapshot::RestoreProgressOptions& progress) {
  absl::Time start = absl::Now();
  if (!config_.ip2asn.empty() || !config_.pfx2as.empty()) {
    std::vector<std::string> files = config_.ip2asn;
    if (!config_.pfx2as.empty()) files.push_back(config_.pfx2as);
    LogEvent(absl::StrCat("loading tables from ", absl::StrJoin(files, ", ")));
  }
  auto lookup = LookupApi::Load(config_.ip2asn, config_.pfx2as);
  if (!lookup.ok()) return lookup.status();
  lookup_ = *std::move(lookup);

  core::SeriesStoreOptions options;
  options.chunk_window_ms = config_.chunk_window_ms;
  options.retention_windows = config_.retention_windows;
  options.max_series = config_.max_series;
  if (absl::Status s = core::SeriesStore::CheckOptions(options); !s.ok()) {
    return s;
  }
  if (config_.data_dir.empty()) {
    LogEvent("no --data-dir: series live in memory only, no snapshots");
    store_ = std::make_unique<core::SeriesStore>(options);
  } else {
    snapshots_ = std::make_unique<SnapshotManager>(
        config_.data_dir, config_.snapshot_keep, snapshot_collector_.get(),
        config_.snapshot_max_series_loss);
    auto store = snapshots_->RestoreNewest(options, progress);
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
  }
  if (config_.memory_limit_bytes > 0) {
    alloc::MemoryBudgetOptions budget;
    budget.limit_bytes = config_.memory_limit_bytes;
    // Above the soft mark the store defragments at full effort and purges
    // what it frees at once; the budget purges every other arena itself.
    core::SeriesStore* store = store_.get();
    budget.on_pressure = [store](bool high) { store->SetMemoryPressure(high); };
    memory_budget_ = std::make_unique<alloc::MemoryBudget>(budget);
    memory_admission_ = std::make_unique<MemoryAdmission>(memory_budget_.get());
    memory_budget_->Start();
    LogEvent(absl::StrFormat(
        "memory budget: limit %d bytes, soft mark %d, resident now %d",
        memory_budget_->limit_bytes(), memory_budget_->soft_limit_bytes(),
        memory_budget_->resident()));
  }
  WriteLimits write_limits;
  write_limits.max_future_ms = config_.max_future_ms;
  write_limits.max_new_series_per_request = config_.max_new_series_per_request;
  write_limits.decoded_budget_bytes = config_.write_decoded_budget_bytes;
  write_limits.import_max_bytes = config_.import_max_bytes;
  if (!config_.remote_write.empty()) {
    // Before any write: the replay puts back what the snapshot missed, and
    // the senders count what the queue holds from here on.
    auto forwarder = Forwarder::Open(config_);
    if (!forwarder.ok()) return forwarder.status();
    forwarder_ = *std::move(forwarder);
    if (absl::Status s = forwarder_->Replay(*store_); !s.ok()) return s;
    if (absl::Status s = forwarder_->StartSending(); !s.ok()) return s;
    metrics_.Add(std::make_shared<ForwardCollector>(forwarder_.get()));
  }
  prom_ = std::make_unique<PromApi>(
      store_.get(), write_limits,
      core::QueryLimits{.timeout_ms = config_.query_timeout_ms,
                        .max_samples = config_.query_max_samples,
                        .max_result_bytes = config_.query_max_result_bytes});

  metrics_.Add(
      std::make_shared<diagnostics::SeriesStoreCollector>(store_.get()));
  metrics_.Add(lookup_->collector());
  metrics_.Add(std::make_shared<ApiCollector>(prom_.get(), &http_));
  if (memory_admission_) {
    prom_->set_memory_admission(memory_admission_.get());
    metrics_.Add(
        std::make_shared<MemoryBudgetCollector>(memory_admission_.get()));
  }

  lookup_->Register(&http_, kLookupBodyLimit);
  prom_->set_forwarder(forwarder_.get());
  prom_->Register(&http_);
  http_.Route("POST", "/v1/snapshot",
              [this](const HttpRequest& r) { return TakeSnapshot(r); },
              {.kind = RequestKind::kWrite, .needs_auth = true});
  http_.ServeAllRoutes();
  background_ = std::thread([this] { Background(); });
  if (config_.self_scrape_interval_ms > 0) {
    // The instance is the address a Prometheus would scrape: the listen
    // host with the port bound (port 0 picks one).
    const std::string host =
        config_.listen.substr(0, config_.listen.rfind(':'));
    self_scrape_ = std::make_unique<SelfScrape>(
        &metrics_, prom_.get(),
        SelfScrapeOptions{.interval_ms = config_.self_scrape_interval_ms,
                          .instance = absl::StrCat(host, ":", http_.port())});
    self_scrape_->Start();
  }
  ready_.store(true, std::memory_order_release);
  LogEvent(absl::StrFormat("ready: started in %.3f s",
                           absl::ToDoubleSeconds(absl::Now() - start)));
  return absl::OkStatus();
}

void ServeApp::Background() {
  absl::Time next_snapshot =
      absl::Now() + absl::Milliseconds(config_.snapshot_interval_ms);
  absl::Time next_retention =
      absl::Now() +
      absl::Milliseconds(std::min(kRetentionPeriodMs, config_.chunk_window_ms));
  absl::Time next_quiet_purge = absl::Now() + kQuietPurgePeriod;
  alloc::QuietPurger quiet;
  while (true) {
    absl::Time deadline = std::min(next_quiet_purge, next_retention);
    if (snapshots_) deadline = std::min(deadline, next_snapshot);
    {
      std::unique_lock lock(mu_);
      if (stop_cv_.wait_for(lock,
                            absl::ToChronoNanoseconds(deadline - absl::Now()),
                            [this] { return stopping_; })) {
        return;
      }
    }
    // Retention, sealing and snapshots allocate their temporaries with
    // plain new (a window's frames before they are packed, zstd's contexts,
    // the writer's buffer): tens of MB at a window's sealing. In an arena
    // of their own they show on /metrics and are purged once a pass has
    // freed enough, instead of sitting dirty in an automatic arena.
    alloc::ThreadArena::Scope maintenance(
        alloc::ThreadArena::Named("maintenance"));
    absl::Time now = absl::Now();
    if (now >= next_retention) {
      // Anchored to the wall clock: a sample stamped ahead of it cannot
      // make the present look old (see SeriesStore::ApplyRetention).
      core::TruncateResult dropped =
          store_->ApplyRetention(absl::ToUnixMillis(now));
      if (dropped.series > 0 || dropped.chunks > 0) {
        core::SeriesStoreStats after = store_->Stats();
        LogEvent(absl::StrFormat(
            "retention: dropped %d series and %d chunks before %s; %d series, "
            "%d chunk bytes remain",
            dropped.series, dropped.chunks,
            absl::FormatTime(absl::RFC3339_sec,
                             absl::FromUnixMillis(dropped.kept_from),
                             absl::UTCTimeZone()),
            after.series, after.chunk_bytes));
      }
      // The same anchor: a window the present has left takes no appends, so
      // it is re-encoded in the sealed form. Asked to stop between stripes,
      // sealing cannot hold up Stop for more than one stripe's encoding.
      absl::Time seal_start = absl::Now();
      std::size_t sealed = store_->SealWindows(absl::ToUnixMillis(now), [this] {
        std::lock_guard lock(mu_);
        return stopping_;
      });
      if (sealed > 0) {
        core::SeriesStore::SealedStats held = store_->GetSealedStats();
        LogEvent(absl::StrFormat(
            "sealing: sealed %d windows in %.3f s; %d sealed windows hold %d "
            "samples in %d bytes",
            sealed, absl::ToDoubleSeconds(absl::Now() - seal_start),
            held.windows, held.samples, held.bytes));
      }
      next_retention = now + absl::Milliseconds(std::min(
                                 kRetentionPeriodMs, config_.chunk_window_ms));
    }
    if (snapshots_ && now >= next_snapshot) {
      Snapshot("interval").IgnoreError();  // logged
      next_snapshot =
          absl::Now() + absl::Milliseconds(config_.snapshot_interval_ms);
    }
    if (now >= next_quiet_purge) {
      // jemalloc's decay runs only while an arena is used: without this,
      // the pages the series and http arenas freed last would stay resident
      // as long as writes pause (or while only the store's defragmentation
      // moves objects, slowly, until its pass ends).
      quiet.Tick();
      next_quiet_purge = absl::Now() + kQuietPurgePeriod;
    }
  }
}

HttpResponse ServeApp::TakeSnapshot(const HttpRequest&) {
  if (!snapshots_) {
    return HttpResponse::Error(400, "snapshots need a --data-dir");
  }
  auto stats = Snapshot("request");
  if (!stats.ok()) {
    return HttpResponse::Error(500, std::string(stats.status().message()));
  }
  return HttpResponse::Json(200, JsonObject()
                                     .Add("path", snapshots_->path())
                                     .Add("bytes", stats->bytes)
                                     .Add("series", stats->series)
                                     .Add("chunks", stats->chunks)
                                     .Add("samples", stats->samples)
                                     .Add("seconds", stats->write_seconds)
                                     .str());
}

absl::Status ServeApp::Stop() {
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  heap_profiles_->Cancel();  // a profile's window would hold up http_.Stop
  if (self_scrape_) self_scrape_->Stop();  // an import is a write, as below
  http_.Stop();  // waits for running handlers: no write lands after the cut
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (background_.joinable()) background_.join();
  if (forwarder_) forwarder_->Stop();  // the queue keeps what is unsent
  // Nothing to snapshot unless Load restored the store and served.
  if (!snapshots_ || !ready()) return absl::OkStatus();
  return Snapshot("shutdown").status();
}

absl::StatusOr<snapshot::WriteStats> ServeApp::Snapshot(
    std::string_view reason) {
  // Read before the snapshot starts: every record before it was stored
  // before it was queued, so the snapshot holds it.
  const uint64_t queued = forwarder_ ? forwarder_->queue_end() : 0;
  auto stats = snapshots_->Take(*store_, std::string(reason));
  if (stats.ok() && forwarder_) {
    if (absl::Status s = forwarder_->SetReplayFrom(queued); !s.ok()) {
      LogEvent(
          absl::StrCat("remote-write queue: the replay position was not "
                       "saved (a restart replays more): ",
                       s.message()));
    }
  }
  return stats;
}

}  // namespace keel::tools
