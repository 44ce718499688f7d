// keel bench sealed-query --input FILE [--chunk-window D] [--reps R]
//
// PromQL range queries over sealed windows against the same queries over
// XOR chunks, in the same run: the capture (import format) goes into two
// stores with the same options, one of which seals every window before the
// newest; each query runs over the sealed span on both, the fastest of R
// runs each, alternating between the stores so that both see the same
// machine. One JSON object on stdout: per query the seconds on each store
// and their ratio, and the ratio of the summed times.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/chunk_window_flag.h"
#include "core/query/engine.h"
#include "core/query/parser.h"
#include "core/series/series_store.h"
#include "core/series/series_text_format.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "bench sealed-query";

// Shaped like dashboard panels over node exporter and Prometheus metrics
// (the capture bench/series_compare_prometheus.sh records): rates, a
// histogram quantile, *_over_time, and a raw selector of every node series
// (every sample decoded and returned).
constexpr const char* kQueries[] = {
    R"(sum by (mode) (rate(node_cpu_seconds_total[1m])))",
    R"(histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[1m]))))",
    R"(max by (collector) (max_over_time(node_scrape_collector_duration_seconds[2m])))",
    R"(sum(count_over_time(go_gc_duration_seconds[1m])))",
    R"({job="node"})",
};

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

struct SealedQueryBenchFlags {
  std::string input;
  std::string chunk_window = "300s";
  int reps = 5;
  bool json = false;  // the output is JSON either way
};

// The query over [start, end] at `step`; its seconds, or an error.
absl::StatusOr<double> TimeQuery(const query::Engine& engine,
                                 const query::Expr& expr, int64_t start,
                                 int64_t end, int64_t step) {
  core::QueryLimits limits;
  limits.timeout_ms = 0;
  core::QueryContext context(limits);
  auto begin = std::chrono::steady_clock::now();
  absl::StatusOr<query::Value> value =
      engine.Range(expr, start, end, step, context);
  double seconds = Seconds(begin);
  if (!value.ok()) return value.status();
  return seconds;
}

int RunSealedQueryBench(const SealedQueryBenchFlags& flags) {
  core::SeriesStoreOptions options;
  if (absl::Status s = ApplyChunkWindowFlag(flags.chunk_window, options);
      !s.ok()) {
    return UsageError(kName, s);
  }
  core::SeriesStore xor_store(options);
  core::SeriesStore sealed_store(options);
  for (core::SeriesStore* store : {&xor_store, &sealed_store}) {
    auto imported = core::ImportTextFile(flags.input, *store);
    if (!imported.ok()) return Fail(kName, imported.status(), 1);
  }
  sealed_store.SealWindows(INT64_MAX);
  const core::SeriesStoreStats stats = xor_store.Stats();
  if (sealed_store.GetSealedStats().samples == 0) {
    return Fail(kName, absl::FailedPreconditionError(
                           "nothing sealed: give a shorter --chunk-window"));
  }
  // The sealed span: from the first sample to the end of the last sealed
  // window, one point every 15 s.
  const int64_t start = stats.min_time;
  const int64_t end =
      xor_store.WindowOf(stats.max_time) * options.chunk_window_ms - 1;
  const int64_t step = 15000;
  const query::Engine on_xor(xor_store);
  const query::Engine on_sealed(sealed_store);

  JsonObject out;
  out.Add("series", stats.series)
      .Add("samples", stats.samples)
      .Add("sealed_samples", sealed_store.GetSealedStats().samples)
      .Add("range_seconds", static_cast<double>(end - start) / 1000);
  double xor_total = 0;
  double sealed_total = 0;
  for (std::size_t q = 0; q < std::size(kQueries); ++q) {
    auto expr = query::ParseExpr(kQueries[q]);
    if (!expr.ok()) return Fail(kName, expr.status(), 1);
    double best[2] = {0, 0};
    for (int rep = 0; rep < flags.reps; ++rep) {
      for (int k = 0; k < 2; ++k) {
        auto seconds =
            TimeQuery(k == 0 ? on_xor : on_sealed, **expr, start, end, step);
        if (!seconds.ok()) return Fail(kName, seconds.status(), 1);
        if (rep == 0 || *seconds < best[k]) best[k] = *seconds;
      }
    }
    xor_total += best[0];
    sealed_total += best[1];
    std::string key = absl::StrCat("q", q);
    out.Add(key + "_query", kQueries[q])
        .Add(key + "_xor_seconds", best[0])
        .Add(key + "_sealed_seconds", best[1])
        .Add(key + "_sealed_over_xor", best[1] / best[0]);
  }
  out.Add("xor_seconds", xor_total)
      .Add("sealed_seconds", sealed_total)
      .Add("sealed_over_xor", sealed_total / xor_total);
  std::printf("%s\n", out.str().c_str());
  return 0;
}

CommandRun SetUpSealedQueryBench(CLI::App& app) {
  auto flags = std::make_shared<SealedQueryBenchFlags>();
  app.add_option("--input", flags->input,
                 "samples in the import format (keel series import)")
      ->required();
  app.add_option("--chunk-window", flags->chunk_window,
                 "both stores' chunk window (default 300s): windows before "
                 "the newest are sealed in one of them");
  app.add_option("--reps", flags->reps, "runs of each query on each store")
      ->check(CLI::Range(1, 100));
  app.add_flag("--json", flags->json,
               "JSON output (the only format; accepted for scripts)");
  app.footer("Prints one JSON object (see bench/sealed_query_bench.cc).");
  return [flags] { return RunSealedQueryBench(*flags); };
}

}  // namespace

KEEL_COMMAND("bench sealed-query",
             "PromQL range queries over sealed windows vs XOR chunks",
             SetUpSealedQueryBench);

}  // namespace keel::tools
