// keel bench serve-memory [--series N] [--scrapes S] [--sustain-seconds T]
//
// Issue 20's yardstick: the whole process's memory per series, keel serve
// against a real Prometheus fed the same remote writes. Each server is
// started alone (on a free loopback port, in a scratch directory), gets S
// scrapes of N node-exporter-like series (bench/serve/node_series.h) from
// the same client (scrape_load.h), and is measured settle seconds after the
// last one is acknowledged: RSS per series (all-in, and the growth over the
// idle server), the write rate acknowledged, and for keel where the bytes
// are: each arena's gauges, the series store's parts, resident memory
// outside jemalloc (code, libraries, stacks). keel then takes T seconds
// more of the same writes, sampled twice a second for RSS over the alloc
// gauges' allocated total, and is measured again settle seconds after.
// Prints one JSON object, with the targets checked.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/serve/node_series.h"
#include "bench/serve/process_memory.h"
#include "bench/serve/remote_write_client.h"
#include "bench/serve/scrape_load.h"
#include "bench/serve/server_process.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::bench {
namespace {

constexpr char kName[] = "bench serve-memory";
constexpr char kAllocated[] = "keel_alloc_allocated_bytes{arena=\"all\"}";
constexpr char kResident[] = "keel_alloc_resident_bytes{arena=\"all\"}";
constexpr char kResidentFile[] = "keel_rss_bytes{kind=\"file\"}";
constexpr char kResidentStacks[] = "keel_rss_bytes{kind=\"thread_stacks\"}";
// The fastest sustained rate the timestamps leave room for: the sustained
// phase stops early rather than write past the present.
constexpr double kMaxSamplesPerSecond = 5e6;

using tools::CommandRun;
using tools::Fail;
using tools::JsonObject;

struct Flags {
  uint64_t series = 1'000'000;
  uint64_t scrapes = 20;
  uint64_t per_request = 2000;
  int writers = 4;
  double sustain_seconds = 60;
  double settle_seconds = 5;
  std::vector<std::string> servers = {"keel", "prometheus"};
  std::vector<std::string> serve_flags;
  std::string work;
};

// The scrapes the sustained phase may write at most.
uint64_t SustainRoom(const Flags& f) {
  return static_cast<uint64_t>(
      std::ceil(f.sustain_seconds * kMaxSamplesPerSecond / f.series));
}

void Sleep(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

MetricSamples Scrape(int port) {
  tools::HttpClient client = LoopbackClient(port);
  return ParseMetricsText(SendRequest(client, "GET", "/metrics").body);
}

// The value of a PromQL query answering one sample (0 when it does not).
double QueryScalar(int port, std::string_view metric) {
  tools::HttpClient client = LoopbackClient(port);
  const std::string body =
      SendRequest(client, "GET",
                  absl::StrCat("/api/v1/query?query=", std::string(metric)))
          .body;
  // ..."value":[1700000000.123,"12345"]...
  const size_t at = body.find("\"value\":[");
  const size_t open = body.find(",\"", at == std::string::npos ? 0 : at);
  const size_t close = body.find('"', open + 2);
  double value = 0;
  if (at == std::string::npos || open == std::string::npos ||
      close == std::string::npos ||
      !absl::SimpleAtod(
          absl::string_view(body).substr(open + 2, close - open - 2), &value)) {
    return 0;
  }
  return value;
}

std::string StatusesJson(const std::map<int, uint64_t>& statuses) {
  JsonObject o;
  for (const auto& [status, n] : statuses) o.Add(absl::StrCat(status), n);
  return o.str();
}

std::string LoadJson(const LoadResult& r) {
  return JsonObject()
      .Add("samples", r.samples)
      .Add("seconds", r.seconds)
      .Add("samples_per_s", r.samples_per_second())
      .Add("scrapes", r.scrapes)
      .Add("requests", r.requests)
      .Add("retries", r.retries)
      .AddRaw("statuses", StatusesJson(r.statuses))
      .Add("first_error", r.first_error.substr(0, 300))
      .str();
}

// The share of RSS that /metrics explains: the arenas' resident pages
// (metadata included; jemalloc's figure is an upper bound, which counts
// pages of its extents not yet touched) plus the file-backed pages and
// thread stacks it reports as such.
double AccountedShare(const MetricSamples& m, uint64_t rss) {
  if (rss == 0) return 0;
  return (MetricValue(m, kResident) + MetricValue(m, kResidentFile) +
          MetricValue(m, kResidentStacks)) /
         static_cast<double>(rss);
}

double PerSeries(double bytes, uint64_t series) {
  return series == 0 ? 0 : bytes / static_cast<double>(series);
}

// keel's memory by where it is: arenas, series store parts, the rest of RSS.
std::string KeelMemoryJson(const MetricSamples& m, uint64_t rss,
                           const MappedRss& mapped, uint64_t series) {
  const double allocated = MetricValue(m, kAllocated);
  const double resident = MetricValue(m, kResident);
  JsonObject arenas, parts;
  double automatic_allocated = 0, automatic_resident = 0;
  constexpr std::string_view kArena = "keel_alloc_allocated_bytes{arena=\"";
  for (const auto& [key, value] : m) {
    if (key.starts_with(kArena) && key != kAllocated) {
      std::string name =
          key.substr(kArena.size(), key.size() - kArena.size() - 2);
      const std::string label = absl::StrCat("{arena=\"", name, "\"}");
      const double arena_resident =
          MetricValue(m, absl::StrCat("keel_alloc_resident_bytes", label));
      if (name.starts_with("malloc.")) {
        automatic_allocated += value;
        automatic_resident += arena_resident;
      }
      arenas.AddRaw(
          name,
          JsonObject()
              .Add("allocated_bytes", value)
              .Add("resident_bytes", arena_resident)
              .Add("active_bytes",
                   MetricValue(m,
                               absl::StrCat("keel_alloc_active_bytes", label)))
              .Add("metadata_bytes",
                   MetricValue(
                       m, absl::StrCat("keel_alloc_metadata_bytes", label)))
              .Add(
                  "dirty_bytes",
                  MetricValue(m, absl::StrCat("keel_alloc_dirty_bytes", label)))
              .str());
    }
    // The series store's gauges in bytes, whatever parts it reports.
    if ((key.starts_with("keel_series") || key.starts_with("keel_chunk")) &&
        absl::StrContains(key, "bytes")) {
      parts.AddRaw(key, JsonObject()
                            .Add("bytes", value)
                            .Add("per_series", PerSeries(value, series))
                            .str());
    }
  }
  const double rss_d = static_cast<double>(rss);
  // What /metrics says of the resident pages outside the allocator.
  const double file = MetricValue(m, kResidentFile);
  const double stacks = MetricValue(m, kResidentStacks);
  return JsonObject()
      .Add("rss_bytes", rss)
      .Add("allocated_bytes", allocated)
      .Add("rss_over_allocated", allocated > 0 ? rss_d / allocated : 0)
      .Add("allocated_share_of_rss", rss > 0 ? allocated / rss_d : 0)
      .Add("arena_resident_share_of_rss", rss > 0 ? resident / rss_d : 0)
      .Add("accounted_share_of_rss", AccountedShare(m, rss))
      // Negative when jemalloc's resident counts pages never touched.
      .Add("unaccounted_rss_bytes", rss_d - resident - file - stacks)
      .Add("reported_file_rss_bytes", file)
      .Add("reported_thread_stacks_rss_bytes", stacks)
      .Add("jemalloc_resident_bytes", resident)
      .Add("automatic_arenas_allocated_bytes", automatic_allocated)
      .Add("automatic_arenas_resident_bytes", automatic_resident)
      .Add("file_backed_rss_bytes", mapped.file_backed)
      .Add("anonymous_rss_bytes", mapped.anonymous)
      .Add("anonymous_outside_jemalloc_bytes",
           static_cast<double>(mapped.anonymous) - resident)
      .AddRaw("arenas", arenas.str())
      .AddRaw("series_store", parts.str())
      .str();
}

struct ServerReport {
  std::string json;
  uint64_t rss = 0, rss_idle = 0;
  double samples_per_s = 0;
  // keel only
  double rss_over_allocated_after = 0, max_rss_over_allocated_during = 0;
  double allocated_share_of_rss = 0;
  double accounted_share_of_rss = 0;
};

// The sustained phase's RSS / allocated, sampled twice a second; the
// worst sample's gauges are kept, to show which arena held the excess.
struct RatioSampler {
  std::atomic<bool> stop{false};
  double max_ratio = 0, sum = 0;
  uint64_t samples = 0;
  uint64_t worst_rss = 0;
  MetricSamples worst;
  MappedRss worst_mapped;
  void Run(int port, int pid) {
    while (!stop.load()) {
      const uint64_t rss = ProcessRssBytes(pid);
      MetricSamples m = Scrape(port);
      const double allocated = MetricValue(m, kAllocated);
      if (allocated > 0 && rss > 0) {
        const double ratio = static_cast<double>(rss) / allocated;
        if (ratio > max_ratio) {
          max_ratio = ratio;
          worst_rss = rss;
          worst = std::move(m);
          worst_mapped = ReadMappedRss(pid);
        }
        sum += ratio;
        ++samples;
      }
      Sleep(0.5);
    }
  }
};

absl::StatusOr<ServerReport> RunServer(const Flags& f, bool keel,
                                       const std::string& dir,
                                       const NodeSeries& data) {
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  std::vector<std::string> argv;
  if (keel) {
    argv = {
        std::filesystem::read_symlink("/proc/self/exe").string(),
        "serve",
        "--listen",
        absl::StrCat("127.0.0.1:", *port),
        "--max-series",
        absl::StrCat(std::max<uint64_t>(2'000'000, f.series + f.series / 10))};
    argv.insert(argv.end(), f.serve_flags.begin(), f.serve_flags.end());
  } else {
    std::filesystem::create_directories(dir + "/prometheus");
    FILE* config =
        std::fopen((dir + "/prometheus/prometheus.yml").c_str(), "w");
    if (config == nullptr) {
      return absl::ErrnoToStatus(
          errno,
          absl::StrCat("cannot write ", dir, "/prometheus/prometheus.yml"));
    }
    // It scrapes only itself, for its Go heap figures (its /metrics answer
    // is chunked, which the client does not read; a query's is not).
    std::fputs(absl::StrCat("scrape_configs:\n  - job_name: self\n"
                            "    scrape_interval: 2s\n"
                            "    static_configs: [{targets: ['127.0.0.1:",
                            *port, "']}]\n")
                   .c_str(),
               config);
    std::fclose(config);
    argv = {"prometheus", "--config.file=" + dir + "/prometheus/prometheus.yml",
            "--storage.tsdb.path=" + dir + "/prometheus/tsdb",
            absl::StrCat("--web.listen-address=127.0.0.1:", *port),
            "--web.enable-remote-write-receiver"};
  }
  const std::string log =
      absl::StrCat(dir, keel ? "/keel.log" : "/prometheus.log");
  absl::StatusOr<ServerProcess> server = ServerProcess::Start(argv, log);
  if (!server.ok()) return server.status();
  if (absl::Status s = server->WaitReady(*port, 120); !s.ok()) return s;
  Sleep(2);
  ServerReport report;
  report.rss_idle = ProcessRssBytes(server->pid());
  // The last scrape is at most at the present, the sustained phase's
  // included: Prometheus (which scrapes itself meanwhile) refuses samples an
  // hour older than its newest.
  const uint64_t room = keel ? SustainRoom(f) : 0;
  const int64_t t0 =
      UnixMillis() - static_cast<int64_t>(f.scrapes + room + 1) * 15'000;
  ScrapeLoadOptions load{.port = *port,
                         .series_per_request = f.per_request,
                         .writers = f.writers,
                         .first_timestamp_ms = t0};
  LoadResult write = WriteScrapes(data, load, 0, f.scrapes, 0);
  report.samples_per_s = write.samples_per_second();
  Sleep(f.settle_seconds);
  report.rss = ProcessRssBytes(server->pid());
  const MetricSamples after = keel ? Scrape(*port) : MetricSamples();
  JsonObject o;
  o.Add("rss_idle_bytes", report.rss_idle)
      .Add("rss_bytes", report.rss)
      .Add("rss_per_series", PerSeries(report.rss, f.series))
      .Add("rss_growth_per_series",
           PerSeries(static_cast<double>(report.rss) - report.rss_idle,
                     f.series))
      .AddRaw("write", LoadJson(write));
  if (!keel) {
    // Its first self-scrape may be a few seconds away.
    double heap = QueryScalar(*port, "go_memstats_heap_inuse_bytes");
    for (int i = 0; i < 50 && heap == 0; ++i) {
      Sleep(0.2);
      heap = QueryScalar(*port, "go_memstats_heap_inuse_bytes");
    }
    o.Add("go_heap_inuse_bytes", heap)
        .Add("go_heap_inuse_per_series", PerSeries(heap, f.series))
        .Add("head_series", QueryScalar(*port, "prometheus_tsdb_head_series"));
    return ServerReport{.json = o.str(),
                        .rss = report.rss,
                        .rss_idle = report.rss_idle,
                        .samples_per_s = report.samples_per_s};
  }
  report.allocated_share_of_rss =
      MetricValue(after, kAllocated) / static_cast<double>(report.rss);
  report.accounted_share_of_rss = AccountedShare(after, report.rss);
  o.Add("series", MetricValue(after, "keel_series"))
      .AddRaw("memory", KeelMemoryJson(after, report.rss,
                                       ReadMappedRss(server->pid()), f.series));
  if (f.sustain_seconds > 0) {
    RatioSampler sampler;
    std::thread sampling([&] { sampler.Run(*port, server->pid()); });
    LoadResult sustained =
        WriteScrapes(data, load, f.scrapes, room, f.sustain_seconds);
    sampler.stop = true;
    sampling.join();
    Sleep(f.settle_seconds);
    const uint64_t rss = ProcessRssBytes(server->pid());
    const MetricSamples m = Scrape(*port);
    const double allocated = MetricValue(m, kAllocated);
    report.rss_over_allocated_after =
        allocated > 0 ? static_cast<double>(rss) / allocated : 0;
    report.max_rss_over_allocated_during = sampler.max_ratio;
    o.AddRaw(
        "sustained",
        JsonObject()
            .AddRaw("write", LoadJson(sustained))
            .Add("ratio_samples", sampler.samples)
            .Add("max_rss_over_allocated", sampler.max_ratio)
            .Add("mean_rss_over_allocated",
                 sampler.samples == 0 ? 0 : sampler.sum / sampler.samples)
            .AddRaw("memory_at_max",
                    KeelMemoryJson(sampler.worst, sampler.worst_rss,
                                   sampler.worst_mapped, f.series))
            .Add("rss_over_allocated_after", report.rss_over_allocated_after)
            .AddRaw(
                "memory_after",
                KeelMemoryJson(m, rss, ReadMappedRss(server->pid()), f.series))
            .str());
  }
  report.json = o.str();
  return report;
}

int RunServeMemory(const Flags& f) {
  std::string dir = f.work;
  if (dir.empty()) {
    char scratch[] = "/tmp/keel-serve-memory.XXXXXX";
    if (mkdtemp(scratch) == nullptr) {
      return Fail(kName, absl::ErrnoToStatus(errno, "mkdtemp"));
    }
    dir = scratch;
  } else {
    std::filesystem::create_directories(dir);
  }
  const NodeSeries data(f.series);
  JsonObject out;
  out.Add("series", f.series)
      .Add("scrapes", f.scrapes)
      .Add("series_per_request", f.per_request)
      .Add("writers", f.writers)
      .Add("sustain_seconds", f.sustain_seconds)
      .Add("settle_seconds", f.settle_seconds);
  ServerReport keel, prometheus;
  bool ran_keel = false, ran_prometheus = false;
  for (const std::string& name : f.servers) {
    const bool is_keel = name == "keel";
    absl::StatusOr<ServerReport> r = RunServer(f, is_keel, dir, data);
    if (!r.ok()) return Fail(kName, r.status());
    out.AddRaw(name, r->json);
    (is_keel ? keel : prometheus) = *std::move(r);
    (is_keel ? ran_keel : ran_prometheus) = true;
  }
  if (f.work.empty()) std::filesystem::remove_all(dir);
  JsonObject targets;
  if (ran_keel) {
    targets.Add("rss_per_series_le_500", PerSeries(keel.rss, f.series) <= 500)
        .Add("rss_over_allocated_after_le_1_10",
             keel.rss_over_allocated_after > 0 &&
                 keel.rss_over_allocated_after <= 1.10)
        .Add("rss_over_allocated_during_le_1_25",
             keel.max_rss_over_allocated_during > 0 &&
                 keel.max_rss_over_allocated_during <= 1.25)
        .Add("allocated_share_of_rss_ge_0_95",
             keel.allocated_share_of_rss >= 0.95)
        .Add("accounted_share_of_rss_ge_0_95",
             keel.accounted_share_of_rss >= 0.95);
  }
  if (ran_keel && ran_prometheus) {
    const double keel_growth = static_cast<double>(keel.rss) - keel.rss_idle;
    const double prometheus_growth =
        static_cast<double>(prometheus.rss) - prometheus.rss_idle;
    const double growth_ratio = keel_growth / prometheus_growth;
    const double throughput_ratio =
        keel.samples_per_s / prometheus.samples_per_s;
    out.AddRaw(
        "keel_over_prometheus",
        JsonObject()
            .Add("rss_growth_per_series", growth_ratio)
            .Add("rss_per_series", static_cast<double>(keel.rss) /
                                       static_cast<double>(prometheus.rss))
            .Add("write_samples_per_s", throughput_ratio)
            .str());
    targets
        .Add("rss_growth_per_series_le_quarter_of_prometheus",
             growth_ratio <= 0.25)
        .Add("write_throughput_ge_prometheus", throughput_ratio >= 1);
  }
  out.AddRaw("targets", targets.str());
  std::printf("%s\n", out.str().c_str());
  return 0;
}

CommandRun SetUpServeMemory(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  app.add_option("--series", f->series, "series written")
      ->check(CLI::Range(uint64_t{1000}, uint64_t{20'000'000}));
  app.add_option("--scrapes", f->scrapes, "samples of each series, 15 s apart")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000}));
  app.add_option("--series-per-request", f->per_request,
                 "series in one remote-write request")
      ->check(CLI::Range(uint64_t{1}, uint64_t{50'000}));
  app.add_option("--writers", f->writers, "client connections writing at once")
      ->check(CLI::Range(1, 64));
  app.add_option("--sustain-seconds", f->sustain_seconds,
                 "keel's sustained write phase after the scrapes (0: none)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--settle-seconds", f->settle_seconds,
                 "wait after the last write before measuring")
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--servers", f->servers,
                 "which servers, in this order: keel, prometheus")
      ->check(CLI::IsMember({"keel", "prometheus"}));
  app.add_option("--serve-flag", f->serve_flags,
                 "a flag for keel serve (repeat: --serve-flag=--threads=64)");
  app.add_option("--work", f->work,
                 "keep the servers' logs and Prometheus' TSDB here (default: "
                 "a scratch directory, removed)");
  app.footer(
      "Needs prometheus on PATH (scripts/setup installs it). Prints one JSON\n"
      "object; exit 1 when a server could not start.");
  return [f] { return RunServeMemory(*f); };
}

}  // namespace

KEEL_COMMAND("bench serve-memory",
             "keel serve's and Prometheus' memory and write rate at N series "
             "remote-written (JSON)",
             SetUpServeMemory);

}  // namespace keel::bench
