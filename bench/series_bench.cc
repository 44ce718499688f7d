// keel bench series [--input FILE] [--series N] [--samples-per-series M]
//   [--chunk-window D] [--json]
//
// Ingests a workload into a SeriesStore, seals every window before the
// newest one (SeriesStore::SealWindows, timed), and prints one JSON object:
// the encoding's size, what the allocator holds for chunks (head and sealed
// apart) and for everything else per series, append, seal and decode rates,
// select time and process RSS. --chunk-window (default the store's 2h) lets
// a short capture seal most of its windows.
//
// Without --input it generates a mixed workload shaped like Prometheus
// scrapes: a third counters rising by small integers, a third gauges with
// noise at 3-4 significant digits, a third constants or slow steps; every
// series scraped each 15 s at its own phase, 1 sample in 20 off by 1-5 ms;
// 5-10 labels a series with realistic names and value lengths. Samples are
// appended scrape by scrape (all series at step j, then j + 1), by ref,
// one AppendBatch a scrape.
// With --input it reads the import format, resolves refs first, then times
// appending the samples in file order.
#include <time.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "alloc/stats.h"
#include "bench/chunk_window_flag.h"
#include "core/series/selector.h"
#include "core/series/series_store.h"
#include "core/series/series_text_format.h"
#include "tools/command.h"
#include "tools/json.h"
#include "tools/series_json.h"

namespace keel::tools {
namespace {

// Rates are per second of this thread's CPU time, so that other processes
// sharing the machine do not skew them; on an idle machine it equals the
// wall time of the single-threaded phases.
double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timer {
  double start = ThreadSeconds();
  double Seconds() const { return ThreadSeconds() - start; }
};

// splitmix64: a fast, well-mixed generator; one per purpose.
struct Random {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};

constexpr std::array<const char*, 20> kSubsystems = {
    "node_cpu",      "node_disk",       "node_network",
    "node_memory",   "node_filesystem", "http_server",
    "http_client",   "grpc_server",     "grpc_client",
    "process",       "go_memstats",     "kafka_consumer",
    "postgres_stat", "redis_commands",  "nginx_connections",
    "container_fs",  "kube_pod",        "envoy_cluster",
    "jvm_gc",        "etcd_mvcc"};
constexpr std::array<const char*, 20> kMeasures = {"seconds_total",
                                                   "bytes_total",
                                                   "requests_total",
                                                   "errors_total",
                                                   "duration_seconds",
                                                   "inflight",
                                                   "read_bytes_total",
                                                   "written_bytes_total",
                                                   "packets_total",
                                                   "retries_total",
                                                   "queue_length",
                                                   "utilization_ratio",
                                                   "open_fds",
                                                   "resident_bytes",
                                                   "latency_seconds_sum",
                                                   "latency_seconds_count",
                                                   "drops_total",
                                                   "available_bytes",
                                                   "temperature_celsius",
                                                   "restarts_total"};
constexpr std::array<const char*, 8> kJobs = {
    "node-exporter", "api-gateway",    "payments-service", "kube-state-metrics",
    "postgres",      "redis-exporter", "envoy-sidecar",    "kafka-broker"};
constexpr std::array<const char*, 3> kEnvs = {"production", "staging", "dev"};
constexpr std::array<const char*, 4> kRegions = {"us-east-1", "eu-west-1",
                                                 "ap-southeast-2", "us-west-2"};
constexpr std::array<const char*, 8> kNamespaces = {
    "default",       "monitoring",  "payments", "checkout",
    "ingress-nginx", "kube-system", "search",   "recommendations"};
constexpr std::array<const char*, 6> kModes = {"user", "system", "iowait",
                                               "idle", "irq",    "steal"};
constexpr std::array<const char*, 5> kMethods = {"GET", "POST", "PUT", "DELETE",
                                                 "PATCH"};

core::Labels GeneratedLabels(uint64_t i) {
  uint64_t metric = i % 400;
  uint64_t host = (i / 400) % 1000;
  core::Labels labels = {
      {"__name__", absl::StrCat(kSubsystems[metric % 20], "_",
                                kMeasures[(metric / 20) % 20])},
      {"instance", absl::StrFormat("10.%d.%d.%d:9100", 16 + host / 250,
                                   (host / 25) % 10, host % 250 + 2)},
      {"job", kJobs[host % kJobs.size()]},
  };
  // 2..7 more labels: 5..10 in all.
  uint64_t extra = 2 + (i * 2654435761u >> 7) % 6;
  Random r{i * 0x2545f4914f6cdd1dull + 7};
  const std::array<std::pair<const char*, std::string>, 7> pool = {{
      {"env", kEnvs[host % kEnvs.size()]},
      {"region", kRegions[host % kRegions.size()]},
      {"namespace", kNamespaces[r.Below(kNamespaces.size())]},
      // One pod per scrape target, as in Kubernetes service discovery.
      {"pod", absl::StrFormat("%s-7d9f8c%04x", kJobs[host % kJobs.size()],
                              (host * 2654435761u) & 0xffff)},
      {"mode", kModes[r.Below(kModes.size())]},
      {"method", kMethods[r.Below(kMethods.size())]},
      {"cluster", absl::StrCat("k8s-prod-", host % 12)},
  }};
  for (uint64_t k = 0; k < extra; ++k) {
    labels.push_back({pool[k].first, pool[k].second});
  }
  return labels;
}

// One series' sample generator.
struct Generator {
  enum Kind { kCounter, kGauge, kSteady } kind;
  int64_t phase;
  double value;
  double base;
  Random random;

  explicit Generator(uint64_t i)
      : kind(static_cast<Kind>(i % 3)),
        phase(static_cast<int64_t>((i * 7919) % 15000)),
        value(0),
        base(0),
        random{i * 0x9e3779b97f4a7c15ull + 1} {
    switch (kind) {
      case kCounter:
        value = static_cast<double>(random.Below(1000000));
        break;
      case kGauge:
        // 3-4 significant digits around a magnitude between 0.01 and 10^5.
        base = std::pow(10.0, static_cast<double>(random.Below(8)) - 2);
        value = base;
        break;
      case kSteady:
        value =
            random.Below(4) == 0 ? 0 : static_cast<double>(random.Below(64));
        break;
    }
  }

  double NextValue() {
    switch (kind) {
      case kCounter:
        value += static_cast<double>(random.Below(11));
        return value;
      case kGauge: {
        double digits =
            std::pow(10.0, 2 + static_cast<double>(random.Below(2)));
        double x = base * (1.0 + 0.3 * (random.Unit() - 0.5));
        double scale = digits / std::pow(10.0, std::floor(std::log10(x)));
        return std::round(x * scale) / scale;
      }
      case kSteady:
        if (random.Below(200) == 0) value += 1;
        return value;
    }
    return value;
  }

  int64_t Time(int64_t start, int64_t step) {
    int64_t t = start + phase + step * 15000;
    if (random.Below(20) == 0) {
      int64_t off = 1 + static_cast<int64_t>(random.Below(5));
      t += random.Below(2) == 0 ? off : -off;
    }
    return t;
  }
};

struct Ingest {
  uint64_t samples = 0;
  double append_seconds = 0;
};

absl::StatusOr<Ingest> IngestGenerated(core::SeriesStore& store,
                                       uint64_t series, uint64_t per_series) {
  std::vector<core::SeriesRef> refs(series);
  std::vector<Generator> generators;
  generators.reserve(series);
  for (uint64_t i = 0; i < series; ++i) {
    auto ref = store.GetOrCreate(GeneratedLabels(i));
    if (!ref.ok()) return ref.status();
    refs[i] = *ref;
    generators.emplace_back(i);
  }
  constexpr int64_t kStart = 1700000000000;  // 2023-11-14T22:13:20Z
  std::vector<core::RefSample> scrape(series);
  Ingest out;
  for (uint64_t step = 0; step < per_series; ++step) {
    for (uint64_t i = 0; i < series; ++i) {
      scrape[i] = {refs[i],
                   generators[i].Time(kStart, static_cast<int64_t>(step)),
                   generators[i].NextValue()};
    }
    Timer timer;
    out.samples += store.AppendBatch(scrape);
    out.append_seconds += timer.Seconds();
  }
  return out;
}

absl::StatusOr<Ingest> IngestFile(core::SeriesStore& store,
                                  const std::string& path) {
  // Series are created while reading, so that the appends alone are timed.
  std::vector<core::RefSample> samples;
  absl::StatusOr<uint64_t> lines = core::ForEachSampleInFile(
      path, [&](core::TextSample& sample) -> absl::Status {
        absl::StatusOr<core::SeriesRef> ref =
            store.GetOrCreate(std::move(sample.labels));
        if (!ref.ok()) return ref.status();
        samples.push_back({*ref, sample.t, sample.v});
        return absl::OkStatus();
      });
  if (!lines.ok()) return lines.status();
  Ingest out;
  Timer timer;
  out.samples = store.AppendBatch(samples);
  out.append_seconds = timer.Seconds();
  return out;
}

// Selectors exercising =, =~, != and !~ over the generated label space.
constexpr std::array<const char*, 4> kSelects = {
    R"(node_cpu_seconds_total)",
    R"({job="api-gateway",instance=~"10\\.16\\..*"})",
    R"({__name__=~"http_.*|grpc_.*",env!="dev"})",
    R"(process_open_fds{region!~"us-.*",mode=""})",
};

// One iterator's samples, counted and summed. Out of line, with only the
// iterator's own calls in its loop: inlined in RunSeriesBench, whose loop
// also constructs and destroys iterators, GCC kept the sum in the stack
// frame, so that every sample waited for the previous one's store and
// reload, which timed the spill as much as the decoding.
struct Sum {
  uint64_t samples = 0;
  double sum = 0;
};
[[gnu::noinline]] Sum SumSamples(core::SampleIterator& it) {
  Sum out;
  while (it.Next()) {
    ++out.samples;
    out.sum += it.v();
  }
  return out;
}

struct SeriesBenchFlags {
  std::string input;
  std::string chunk_window;
  uint64_t series = 100000;
  uint64_t samples_per_series = 1000;
  bool json = false;  // the output is JSON either way
};

int RunSeriesBench(const SeriesBenchFlags& flags) {
  constexpr char kName[] = "bench series";
  core::SeriesStoreOptions options;
  if (absl::Status s = ApplyChunkWindowFlag(flags.chunk_window, options);
      !s.ok()) {
    return UsageError(kName, s);
  }
  core::SeriesStore store(options);
  auto ingest =
      !flags.input.empty()
          ? IngestFile(store, InputPath(flags.input))
          : IngestGenerated(store, flags.series, flags.samples_per_series);
  if (!ingest.ok()) return Fail(kName, ingest.status(), 1);
  const core::SeriesStoreStats before = store.Stats();
  Timer seal_timer;
  store.SealWindows(INT64_MAX);
  double seal_seconds = seal_timer.Seconds();
  core::SeriesStoreStats stats = store.Stats();
  const core::SeriesStore::SealedStats sealed_stats = store.GetSealedStats();
  if (stats.samples != before.samples) {
    return Fail(kName, absl::InternalError(absl::StrCat(
                           "sealing changed the sample count from ",
                           before.samples, " to ", stats.samples)));
  }

  // Decode: every sample of every series, through the public iterators;
  // the fastest of three passes, as other processes share the machine.
  core::SeriesSet all = store.Cut();
  double decode_seconds = 0;
  uint64_t decoded = 0;
  uint64_t checksum = 0;  // of the value bits, so no sample is skipped
  for (int pass = 0; pass < 3; ++pass) {
    Timer timer;
    decoded = 0;
    for (const auto& entry : all.series()) {
      for (auto it = all.Samples(entry); it.Next();) {
        ++decoded;
        checksum += std::bit_cast<uint64_t>(it.v()) ^ it.t();
      }
    }
    double seconds = timer.Seconds();
    if (pass == 0 || seconds < decode_seconds) decode_seconds = seconds;
  }
  if (decoded != stats.samples) {
    return Fail(kName,
                absl::InternalError(absl::StrCat(
                    "decoded ", decoded, " samples of ", stats.samples)));
  }

  // Sealed windows alone: every window before the newest one.
  double sealed_decode_seconds = 0;
  uint64_t sealed_decoded = 0;
  if (sealed_stats.samples > 0) {
    int64_t open_start =
        store.WindowOf(stats.max_time) * options.chunk_window_ms;
    auto every = core::ParseSelector(R"({__name__=~".+"})");
    if (!every.ok()) return Fail(kName, every.status(), 1);
    core::SeriesSet sealed =
        store.Select(*every, stats.min_time, open_start - 1);
    for (int pass = 0; pass < 3; ++pass) {
      Timer timer;
      sealed_decoded = 0;
      double sum = 0;
      for (const auto& entry : sealed.series()) {
        core::SampleIterator it = sealed.Samples(entry);
        Sum one = SumSamples(it);
        sealed_decoded += one.samples;
        sum += one.sum;
      }
      double seconds = timer.Seconds();
      if (pass == 0 || seconds < sealed_decode_seconds) {
        sealed_decode_seconds = seconds;
      }
      checksum += std::bit_cast<uint64_t>(sum);
    }
  }

  double select_seconds = 0;
  uint64_t selected = 0;
  for (const char* text : kSelects) {
    auto matchers = core::ParseSelector(text);
    if (!matchers.ok()) return Fail(kName, matchers.status(), 1);
    Timer timer;
    core::SeriesSet set =
        store.Select(*matchers, stats.min_time, stats.max_time);
    select_seconds += timer.Seconds();
    selected += set.series().size();
  }

  uint64_t held = stats.arena.allocated;
  double series_count =
      stats.series > 0 ? static_cast<double>(stats.series) : 1;
  JsonObject out;
  out.Add("series", stats.series)
      .Add("samples", stats.samples)
      .Add("encoded_bytes", stats.live_bytes)
      .Add("chunk_bytes", stats.chunk_bytes)
      .Add("bytes_per_sample", stats.samples == 0
                                   ? 0.0
                                   : static_cast<double>(stats.chunk_bytes) /
                                         static_cast<double>(stats.samples))
      .Add("chunk_overhead_ratio",
           stats.live_bytes == 0 ? 0.0
                                 : static_cast<double>(stats.chunk_bytes) /
                                       static_cast<double>(stats.live_bytes))
      .Add("sealed_windows", sealed_stats.windows)
      .Add("bytes_per_sample_before_sealing",
           before.samples == 0 ? 0.0
                               : static_cast<double>(before.chunk_bytes) /
                                     static_cast<double>(before.samples))
      .Add("seal_samples_per_sec",
           seal_seconds > 0
               ? static_cast<double>(sealed_stats.samples) / seal_seconds
               : 0.0)
      .Add("sealed_decode_samples_per_sec",
           sealed_decode_seconds > 0
               ? static_cast<double>(sealed_decoded) / sealed_decode_seconds
               : 0.0)
      .Add("series_overhead_bytes",
           static_cast<double>(held - stats.chunk_bytes) / series_count)
      .Add("append_samples_per_sec",
           static_cast<double>(ingest->samples) / ingest->append_seconds)
      .Add("decode_samples_per_sec",
           static_cast<double>(decoded) / decode_seconds)
      .Add("select_seconds", select_seconds)
      .Add("rss_bytes", alloc::ProcessRssBytes());
  AddHeadAndSealedBytes(stats, sealed_stats, out);
  std::printf("%s\n", out.str().c_str());
  std::fprintf(stderr,
               "keel bench series: %llu chunks in %llu windows, %llu series "
               "selected by %zu selectors, checksum %016llx\n",
               static_cast<unsigned long long>(stats.chunks),
               static_cast<unsigned long long>(stats.windows),
               static_cast<unsigned long long>(selected), kSelects.size(),
               static_cast<unsigned long long>(checksum));
  return 0;
}

CommandRun SetUpSeriesBench(CLI::App& app) {
  auto flags = std::make_shared<SeriesBenchFlags>();
  app.add_option("--input", flags->input,
                 "samples in the import format to ingest instead of the "
                 "generated workload; - reads stdin");
  app.add_option("--series", flags->series, "generated series")
      ->check(CLI::Range(uint64_t{1}, uint64_t{UINT32_MAX}));
  app.add_option("--samples-per-series", flags->samples_per_series,
                 "generated samples a series, 15 s apart")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--chunk-window", flags->chunk_window,
                 "the store's chunk window (300s, 2h; default 2h): windows "
                 "before the newest one are sealed");
  app.add_flag("--json", flags->json,
               "JSON output (the only format; accepted for scripts)");
  app.footer("Prints one JSON object (see bench/series_bench.cc).");
  return [flags] { return RunSeriesBench(*flags); };
}

}  // namespace

KEEL_COMMAND("bench series",
             "ingest a generated or imported workload into a series store; "
             "print sizes and rates as JSON",
             SetUpSeriesBench);

}  // namespace keel::tools
