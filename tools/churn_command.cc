// keel churn: the Go TSDB restart case in simulated time. S series get a
// sample every 15 s; chunks live in 4 h windows, the last 8 kept, the oldest
// dropped at each window boundary. After --hours-before-restart the store
// is snapshotted, dropped with its arena, and restored, then it runs
// --hours-after-restart more. One JSON line per window boundary, then a
// summary line; --plot draws RSS and live bytes over time with gnuplot.
//
// --restore sizeclass (default) runs keel's design: sealed chunks packed per
// window, restored in chronological order into the same blocks ingestion
// uses. --restore exact runs the naive baseline: every chunk its own buffer
// grown by doubling (std::vector::push_back), restored at exactly its size.
// --layout own-buffer with --restore sizeclass keeps every chunk in its own
// buffer grown through GrowthPolicy and restored at the capacity
// GrowthPolicy gives its size (the Go TSDB's fix, without packing).
// --order random writes the snapshot series by series in random order (as
// Prometheus does); --allocator malloc puts chunk bytes in glibc's malloc.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/stats.h"
#include "core/series/series_store.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

constexpr int64_t kIntervalMs = 15'000;
constexpr int64_t kWindowMs = 4 * 3600 * 1000;
constexpr int64_t kStartMs = 1'700'006'400'000;  // a multiple of 4 h

struct ChurnConfig {
  uint32_t series = 20000;
  int64_t hours_before = 32;
  int64_t hours_after = 36;
  bool exact = false;
  bool own_buffer = false;  // exact implies it
  bool random_order = false;
  bool libc_malloc = false;
  std::string plot;
  std::string snapshot_path;
  uint64_t seed = 1;
};

// xorshift64*: fast and good enough for workload noise.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1p-53; }

 private:
  uint64_t s_;
};

// Per-series value generators: a third counters rising by small integers, a
// third gauges with noise at 3-4 significant digits, a third constants or
// slow steps; 1 sample in 20 is 1-5 ms off its 15 s grid.
class Workload {
 public:
  Workload(uint32_t series, uint64_t seed) : rng_(seed) {
    state_.resize(series);
    for (uint32_t i = 0; i < series; ++i) {
      State& s = state_[i];
      s.kind = i % 3;
      double magnitude =
          std::pow(10.0, static_cast<double>(rng_.Next() % 7) - 2);
      s.base = magnitude * (1 + 9 * rng_.Uniform());
      s.scale = std::pow(10.0, std::floor(std::log10(s.base)) -
                                   static_cast<double>(2 + rng_.Next() % 2));
      s.step = 1 + rng_.Next() % 20;
      s.value = s.kind == 0 ? std::floor(s.base * 100) : Round(s, s.base);
    }
  }

  core::Labels LabelsOf(uint32_t i) const {
    static constexpr const char* kMetrics[] = {
        "http_requests_total",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "process_resident_memory_bytes",
        "go_gc_duration_seconds",
        "node_network_receive_bytes_total",
        "prometheus_tsdb_head_series",
        "node_filesystem_avail_bytes"};
    static constexpr const char* kJobs[] = {"node", "api", "prometheus",
                                            "postgres-exporter"};
    uint32_t metric = i % 8;
    uint32_t host = i / 8;
    core::Labels labels = {
        {"__name__", kMetrics[metric]},
        {"instance", absl::StrCat("10.", host / 65536 % 256, ".",
                                  host / 256 % 256, ".", host % 256, ":9100")},
        {"job", kJobs[host % 4]},
        {"env", host % 5 == 0 ? "staging" : "production"},
        {"region", absl::StrCat("eu-west-", 1 + host % 3)}};
    if (i % 2 == 0)
      labels.push_back({"cluster", absl::StrCat("k8s-", host % 7)});
    if (i % 3 == 0) labels.push_back({"mode", i % 6 == 0 ? "user" : "system"});
    if (i % 4 == 0) labels.push_back({"device", absl::StrCat("eth", host % 3)});
    if (i % 5 == 0) {
      labels.push_back(
          {"handler", absl::StrCat("/api/v1/query_range/", i % 11)});
    }
    return labels;
  }

  double Next(uint32_t i) {
    State& s = state_[i];
    switch (s.kind) {
      case 0:
        s.value += static_cast<double>(rng_.Next() % (s.step + 1));
        break;
      case 1:
        s.value = Round(s, s.base * (1 + 0.05 * (rng_.Uniform() - 0.5)));
        break;
      default:
        if (rng_.Next() % 500 == 0)
          s.value = Round(s, s.base * (1 + rng_.Uniform()));
    }
    return s.value;
  }

  int64_t Jitter() {
    uint64_t r = rng_.Next();
    if (r % 20 != 0) return 0;
    int64_t ms = 1 + static_cast<int64_t>((r >> 8) % 5);
    return (r >> 16) % 2 == 0 ? ms : -ms;
  }

 private:
  struct State {
    uint32_t kind;
    uint32_t step;
    double base;
    double scale;  // 10^(exponent - digits): rounds to 3-4 significant digits
    double value;
  };
  static double Round(const State& s, double x) {
    return std::round(x / s.scale) * s.scale;
  }

  Rng rng_;
  std::vector<State> state_;
};

struct Point {
  double hour;
  bool after;
  uint64_t live, rss;
};

// Samples the process RSS every millisecond while it lives.
class PeakRssSampler {
 public:
  PeakRssSampler()
      : thread_([this] {
          while (!stop_.load(std::memory_order_relaxed)) {
            Observe();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
        }) {}
  ~PeakRssSampler() { Stop(); }
  uint64_t Stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
      Observe();
    }
    return peak_;
  }

 private:
  void Observe() {
    uint64_t rss = alloc::ProcessRssBytes();
    if (rss > peak_) peak_ = rss;
  }
  std::atomic<bool> stop_{false};
  uint64_t peak_ = 0;
  std::thread thread_;
};

class Churn {
 public:
  explicit Churn(const ChurnConfig& config)
      : config_(config), workload_(config.series, config.seed) {
    options_.chunk_window_ms = kWindowMs;
    options_.retention_windows = 8;
    options_.arena_name = "churn";
    if (config.own_buffer) {
      options_.sealed_layout = core::SealedChunkLayout::kOwnBuffer;
    }
    if (config.exact) {
      options_.restore_capacity = core::RestoreCapacity::kExact;
      options_.head_min_growth = 1.0;
    }
    if (config.libc_malloc)
      options_.chunk_memory = core::ChunkMemory::kLibcMalloc;
  }

  absl::Status Run() {
    if (absl::Status s = core::SeriesStore::CheckOptions(options_); !s.ok()) {
      return s;
    }
    store_ = std::make_unique<core::SeriesStore>(options_);
    if (absl::Status s = Resolve(); !s.ok()) return s;
    const int64_t total_steps = (config_.hours_before + config_.hours_after) *
                                3600 * 1000 / kIntervalMs;
    const int64_t restart_step =
        config_.hours_before * 3600 * 1000 / kIntervalMs;
    bool after = false;
    for (int64_t step = 0; step < total_steps; ++step) {
      const int64_t t = kStartMs + step * kIntervalMs;
      for (uint32_t i = 0; i < config_.series; ++i) {
        store_->Append(refs_[i], t + workload_.Jitter(), workload_.Next(i));
      }
      const int64_t next = step + 1;
      if ((next * kIntervalMs) % kWindowMs != 0) continue;
      store_->ApplyRetention(/*now_ms=*/kStartMs + next * kIntervalMs);
      double hour = static_cast<double>(next * kIntervalMs) / 3.6e6;
      uint64_t rss = Boundary(hour, after);
      if (next == restart_step) {
        steady_rss_ = rss;
        steady_live_ = store_->Stats().live_bytes;
        if (absl::Status s = Restart(); !s.ok()) return s;
        after = true;
      }
      final_rss_ = rss;
    }
    PrintSummary();
    return config_.plot.empty() ? absl::OkStatus() : Plot();
  }

 private:
  absl::Status Resolve() {
    refs_.resize(config_.series);
    for (uint32_t i = 0; i < config_.series; ++i) {
      auto ref = store_->GetOrCreate(workload_.LabelsOf(i));
      if (!ref.ok()) return ref.status();
      refs_[i] = *ref;
    }
    return absl::OkStatus();
  }

  uint64_t Boundary(double hour, bool after) {
    core::SeriesStoreStats stats = store_->Stats();
    uint64_t allocated = stats.arena.allocated;
    uint64_t active = stats.arena.active;
    uint64_t resident = stats.arena.resident;
    if (config_.libc_malloc) {
      // Chunk bytes live in glibc's heap: count it too.
      struct mallinfo2 m = ::mallinfo2();
      allocated += m.uordblks + m.hblkhd;
      active += m.arena + m.hblkhd;
      resident += m.arena + m.hblkhd;
    }
    uint64_t rss = alloc::ProcessRssBytes();
    std::printf("%s\n", JsonObject()
                            .Add("hour", hour)
                            .Add("phase", after ? "after" : "before")
                            .Add("live_bytes", stats.live_bytes)
                            .Add("allocated_bytes", allocated)
                            .Add("active_bytes", active)
                            .Add("resident_bytes", resident)
                            .Add("rss_bytes", rss)
                            .str()
                            .c_str());
    std::fflush(stdout);
    points_.push_back({hour, after, stats.live_bytes, rss});
    return rss;
  }

  absl::Status Restart() {
    snapshot::WriteOptions write;
    write.keep = 1;
    write.order = config_.random_order ? snapshot::ChunkOrder::kSeriesRandom
                                       : snapshot::ChunkOrder::kChronological;
    write.random_seed = config_.seed;
    auto written =
        snapshot::WriteSnapshot(*store_, config_.snapshot_path, write);
    if (!written.ok()) return written.status();
    snapshot_bytes_ = written->bytes;
    write_seconds_ = written->write_seconds;
    store_.reset();  // the store and its arena
    snapshot::RestoreStats stats;
    PeakRssSampler sampler;
    auto restored =
        snapshot::RestoreSnapshot(config_.snapshot_path, options_, &stats);
    restore_peak_rss_ = sampler.Stop();
    if (!restored.ok()) return restored.status();
    store_ = std::move(*restored);
    rss_after_restore_ = alloc::ProcessRssBytes();
    restore_seconds_ = stats.seconds;
    ::unlink(config_.snapshot_path.c_str());
    return Resolve();
  }

  void PrintSummary() const {
    std::printf("%s\n", JsonObject()
                            .Add("summary", true)
                            .Add("steady_rss_before_restart", steady_rss_)
                            .Add("steady_live_before_restart", steady_live_)
                            .Add("rss_after_restore", rss_after_restore_)
                            .Add("restore_peak_rss", restore_peak_rss_)
                            .Add("final_rss", final_rss_)
                            .Add("rss_growth_after_restart",
                                 static_cast<double>(final_rss_) /
                                     static_cast<double>(steady_rss_))
                            .Add("restore_seconds", restore_seconds_)
                            .Add("snapshot_bytes", snapshot_bytes_)
                            .Add("write_seconds", write_seconds_)
                            .str()
                            .c_str());
  }

  absl::Status Plot() const {
    std::string data = config_.plot + ".tsv";
    FILE* f = std::fopen(data.c_str(), "w");
    if (f == nullptr) return absl::InternalError("cannot write " + data);
    for (const Point& p : points_) {
      std::fprintf(f, "%g\t%g\t%g\n", p.hour, p.rss / 1048576.0,
                   p.live / 1048576.0);
    }
    std::fclose(f);
    FILE* gp = ::popen("gnuplot", "w");
    if (gp == nullptr) return absl::InternalError("cannot run gnuplot");
    std::fprintf(
        gp,
        "set terminal pngcairo size 900,500\nset output '%s'\n"
        "set xlabel 'simulated hours'\nset ylabel 'MiB'\nset key top left\n"
        "set title 'keel churn: %u series, restore %s, %s, order %s, %s'\n"
        "set arrow from %lld, graph 0 to %lld, graph 1 nohead dt 2\n"
        "plot '%s' using 1:2 with linespoints title 'RSS', "
        "'' using 1:3 with linespoints title 'live chunk bytes'\n",
        config_.plot.c_str(), config_.series,
        config_.exact ? "exact" : "sizeclass",
        config_.own_buffer ? "own buffers" : "packed",
        config_.random_order ? "random" : "chronological",
        config_.libc_malloc ? "glibc malloc" : "arena",
        static_cast<long long>(config_.hours_before),
        static_cast<long long>(config_.hours_before), data.c_str());
    int rc = ::pclose(gp);
    ::unlink(data.c_str());
    if (rc != 0)
      return absl::InternalError("gnuplot failed drawing " + config_.plot);
    return absl::OkStatus();
  }

  const ChurnConfig config_;
  Workload workload_;
  core::SeriesStoreOptions options_;
  std::unique_ptr<core::SeriesStore> store_;
  std::vector<core::SeriesRef> refs_;
  std::vector<Point> points_;
  uint64_t steady_rss_ = 0, steady_live_ = 0, rss_after_restore_ = 0;
  uint64_t restore_peak_rss_ = 0, final_rss_ = 0, snapshot_bytes_ = 0;
  double restore_seconds_ = 0, write_seconds_ = 0;
};

struct ChurnFlags {
  uint64_t series = ChurnConfig().series;
  uint64_t hours_before = 32, hours_after = 36;
  uint64_t seed = 1;
  std::string restore = "sizeclass", layout, order = "chronological";
  std::string allocator = "arena", plot, snapshot;
};

absl::StatusOr<ChurnConfig> ParseConfig(const ChurnFlags& f) {
  if (f.hours_before % 4 != 0 || f.hours_after % 4 != 0) {
    return absl::InvalidArgumentError(
        "--hours-before-restart and --hours-after-restart must be positive "
        "multiples of the 4 h window");
  }
  std::string layout = !f.layout.empty()      ? f.layout
                       : f.restore == "exact" ? "own-buffer"
                                              : "packed";
  if (f.restore == "exact" && layout == "packed") {
    return absl::InvalidArgumentError(
        "--restore exact needs --layout own-buffer: packed chunks have no "
        "capacity of their own");
  }
  ChurnConfig c;
  c.series = static_cast<uint32_t>(f.series);
  c.hours_before = static_cast<int64_t>(f.hours_before);
  c.hours_after = static_cast<int64_t>(f.hours_after);
  c.seed = f.seed;
  c.exact = f.restore == "exact";
  c.own_buffer = layout == "own-buffer";
  c.random_order = f.order == "random";
  c.libc_malloc = f.allocator == "malloc";
  c.plot = f.plot;
  c.snapshot_path = !f.snapshot.empty()
                        ? f.snapshot
                        : absl::StrCat("/tmp/keel-churn-", ::getpid(), ".snap");
  return c;
}

int RunChurn(const ChurnFlags& flags) {
  constexpr char kName[] = "churn";
  absl::StatusOr<ChurnConfig> config = ParseConfig(flags);
  if (!config.ok()) return UsageError(kName, config.status());
  Churn churn(*config);
  if (absl::Status s = churn.Run(); !s.ok()) return Fail(kName, s, 1);
  return 0;
}

CommandRun SetUpChurn(CLI::App& app) {
  auto f = std::make_shared<ChurnFlags>();
  app.add_option("--series", f->series, "series, a sample each every 15 s")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 24));
  app.add_option("--hours-before-restart", f->hours_before,
                 "simulated hours before the snapshot and restore (a "
                 "multiple of 4)")
      ->check(CLI::Range(uint64_t{4}, uint64_t{50000}));
  app.add_option("--hours-after-restart", f->hours_after,
                 "simulated hours after it (a multiple of 4)")
      ->check(CLI::Range(uint64_t{4}, uint64_t{50000}));
  app.add_option("--restore", f->restore,
                 "sizeclass: keel's packed chunks, restored in order; exact: "
                 "every chunk its own buffer, restored at its size")
      ->check(CLI::IsMember({"sizeclass", "exact"}));
  app.add_option("--layout", f->layout,
                 "chunk buffers (default: packed; own-buffer with --restore "
                 "exact)")
      ->check(CLI::IsMember({"packed", "own-buffer"}));
  app.add_option("--order", f->order, "the snapshot's series order")
      ->check(CLI::IsMember({"chronological", "random"}));
  app.add_option("--allocator", f->allocator,
                 "where chunk bytes live: keel's arena or glibc's malloc")
      ->check(CLI::IsMember({"arena", "malloc"}));
  app.add_option("--plot", f->plot,
                 "also draw RSS and live bytes over time into this PNG "
                 "(needs gnuplot)");
  app.add_option("--snapshot", f->snapshot,
                 "the snapshot file (default: /tmp/keel-churn-PID.snap)");
  app.add_option("--seed", f->seed, "the workload's random seed");
  app.footer("Prints one JSON line a window boundary, then a summary line.");
  return [f] { return RunChurn(*f); };
}

}  // namespace

KEEL_COMMAND("churn",
             "simulate series churn across a snapshot restart; RSS per window",
             SetUpChurn);

}  // namespace keel::tools
