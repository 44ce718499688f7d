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
//
// --turnover F replaces a fraction F of the series every simulated hour
// (whole hosts: their series stop, as many new ones with new instance labels
// start). Every simulated hour the store is defragmented (--defrag on, as
// its background runner would in that hour) or not (--defrag off), and every
// arena is purged, as jemalloc's decay would in that hour. Live bytes are the
// chunk bytes plus the labels, index and series records live series need; each
// line reports them apart, and RSS over them.
//
// --seal on (the default, as keel serve always seals) re-encodes every
// closed window in the sealed form each simulated hour, where the server's
// background loop does it: after retention, before the hour's
// defragmentation and purge. A sealed window's live chunk bytes are then its
// frames' compressed bytes.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/purge.h"
#include "alloc/stats.h"
#include "alloc/thread_arena.h"
#include "core/series/series_store.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tools/churn/workload.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

using churn::Workload;

constexpr int64_t kIntervalMs = 15'000;
constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kWindowMs = 4 * 3600 * 1000;
constexpr int64_t kStartMs = 1'700'006'400'000;  // a multiple of 4 h

struct ChurnConfig {
  uint32_t series = 20000;
  int64_t hours_before = 32;
  int64_t hours_after = 40;
  double turnover = 0;
  bool defrag = true;
  bool exact = false;
  bool own_buffer = false;  // exact implies it
  bool random_order = false;
  bool libc_malloc = false;
  bool huge_pages = true;
  bool seal = true;
  std::string plot;
  std::string snapshot_path;
  uint64_t seed = 1;
};

struct Point {
  double hour;
  bool after;
  uint64_t live, rss;  // live: every kind of live bytes
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
    options_.defrag = false;  // driven in simulated time instead
    options_.huge_pages = config.huge_pages;
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
      const bool boundary = (next * kIntervalMs) % kWindowMs == 0;
      // Retention at a window boundary comes first: the hour's
      // defragmentation and purge then see what it freed, as the store's
      // background runner would within that hour.
      if (boundary) {
        store_->ApplyRetention(/*now_ms=*/kStartMs + next * kIntervalMs);
      }
      if ((next * kIntervalMs) % kHourMs == 0) {
        if (absl::Status s = Hour(kStartMs + next * kIntervalMs); !s.ok()) {
          return s;
        }
      }
      if (!boundary) continue;
      double hour = static_cast<double>(next * kIntervalMs) / 3.6e6;
      uint64_t rss = Boundary(hour, after);
      double ratio = static_cast<double>(rss) / last_live_;
      if (hour >= kRetentionHours && ratio > max_rss_ratio_) {
        max_rss_ratio_ = ratio;
        max_rss_hour_ = hour;
      }
      if (next == restart_step) {
        steady_rss_ = rss;
        steady_live_ = last_live_;
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
      auto ref = store_->GetOrCreate(Workload::LabelsOf(workload_.IdOf(i)));
      if (!ref.ok()) return ref.status();
      refs_[i] = *ref;
    }
    return absl::OkStatus();
  }

  // What passes in a simulated hour besides samples: turnover, and the
  // background work (sealing, the defragmenter's or jemalloc's decay's).
  absl::Status Hour(int64_t now_ms) {
    for (uint32_t slot : workload_.TurnOver(config_.turnover)) {
      auto ref = store_->GetOrCreate(Workload::LabelsOf(workload_.IdOf(slot)));
      if (!ref.ok()) return ref.status();
      refs_[slot] = *ref;
    }
    if (config_.seal) {
      // Sealing's temporaries go where keel serve's background loop puts
      // them: the maintenance arena, purged below with the others. The
      // server's loop runs a pass in a Scope, which flushes the thread's
      // cache of freed regions after it: so does this.
      alloc::ThreadArena::Binding maintenance(
          alloc::ThreadArena::Named("maintenance"));
      store_->SealWindows(now_ms);
      alloc::FlushThreadCache();
    }
    if (config_.defrag) store_->Defragment();
    // Decay returns an active arena's dirty pages within seconds of real
    // time, so within an hour: the store's, and those the snapshot write and
    // the restore left in this thread's arena, which turnover keeps active.
    alloc::PurgeAll();
    return absl::OkStatus();
  }

  uint64_t Boundary(double hour, bool after) {
    core::SeriesStoreStats stats = store_->Stats();
    last_live_ = stats.live_bytes + stats.label_bytes + stats.index_bytes +
                 stats.series_bytes;
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
    core::SeriesStore::SealedStats sealed = store_->GetSealedStats();
    std::printf(
        "%s\n",
        JsonObject()
            .Add("hour", hour)
            .Add("phase", after ? "after" : "before")
            .Add("live_bytes", last_live_)
            .Add("chunk_bytes", stats.live_bytes)
            .Add("head_chunk_bytes", stats.head_live_bytes)
            .Add("sealed_windows", sealed.windows)
            .Add("label_bytes", stats.label_bytes)
            .Add("index_bytes", stats.index_bytes)
            .Add("series_bytes", stats.series_bytes)
            .Add("series", stats.series)
            .Add("dead_series", stats.dead_series)
            .Add("allocated_bytes", allocated)
            .Add("chunk_held_bytes", stats.chunk_bytes)
            .Add("head_held_bytes", stats.head_chunk_bytes)
            .Add("sealed_held_bytes", sealed.bytes)
            .Add("active_bytes", active)
            .Add("resident_bytes", resident)
            .Add("rss_bytes", rss)
            .Add("rss_over_live", static_cast<double>(rss) / last_live_)
            .Add("defrag_moved_bytes", store_->defrag_stats().moved_bytes)
            .str()
            .c_str());
    std::fflush(stdout);
    points_.push_back({hour, after, last_live_, rss});
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
    std::printf(
        "%s\n",
        JsonObject()
            .Add("summary", true)
            .Add("steady_rss_before_restart", steady_rss_)
            .Add("steady_live_before_restart", steady_live_)
            .Add("steady_rss_over_live", static_cast<double>(steady_rss_) /
                                             static_cast<double>(steady_live_))
            .Add("max_rss_over_live", max_rss_ratio_)
            .Add("max_rss_over_live_hour", max_rss_hour_)
            .Add("rss_after_restore", rss_after_restore_)
            .Add("restore_peak_rss", restore_peak_rss_)
            .Add("restore_peak_over_after",
                 static_cast<double>(restore_peak_rss_) /
                     static_cast<double>(rss_after_restore_))
            .Add("final_rss", final_rss_)
            .Add("rss_growth_after_restart",
                 static_cast<double>(final_rss_) /
                     static_cast<double>(steady_rss_))
            .Add("restore_seconds", restore_seconds_)
            .Add("snapshot_bytes", snapshot_bytes_)
            .Add("write_seconds", write_seconds_)
            .Add("turnover", config_.turnover)
            .Add("defrag", config_.defrag ? "on" : "off")
            .Add("huge_pages", config_.huge_pages ? "on" : "off")
            .Add("seal", config_.seal ? "on" : "off")
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
        "set title 'keel churn: %u series, turnover %g/h, defrag %s, restore "
        "%s, %s, order %s, %s, seal %s'\n"
        "set arrow from %lld, graph 0 to %lld, graph 1 nohead dt 2\n"
        "plot '%s' using 1:2 with linespoints title 'RSS', "
        "'' using 1:3 with linespoints title 'live bytes'\n",
        config_.plot.c_str(), config_.series, config_.turnover,
        config_.defrag ? "on" : "off", config_.exact ? "exact" : "sizeclass",
        config_.own_buffer ? "own buffers" : "packed",
        config_.random_order ? "random" : "chronological",
        config_.libc_malloc ? "glibc malloc" : "arena",
        config_.seal ? "on" : "off",
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
  uint64_t last_live_ = 0;  // at the last window boundary
  // The highest RSS / live once retention holds full windows.
  static constexpr double kRetentionHours = 32;
  double max_rss_ratio_ = 0, max_rss_hour_ = 0;
  double restore_seconds_ = 0, write_seconds_ = 0;
};

struct ChurnFlags {
  uint64_t series = ChurnConfig().series;
  uint64_t hours_before = 32, hours_after = 40;
  double turnover = 0;
  std::string defrag = "on";
  std::string huge_pages = "on";
  std::string seal = "on";
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
  c.turnover = f.turnover;
  c.defrag = f.defrag == "on";
  c.huge_pages = f.huge_pages == "on";
  c.seal = f.seal == "on";
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
  app.add_option("--turnover", f->turnover,
                 "fraction of the series replaced every simulated hour (whole "
                 "hosts end; as many new series with new labels start)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--defrag", f->defrag,
                 "on: defragment the store every simulated hour, as its "
                 "background runner would; off: only purge (the naive run)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--huge-pages", f->huge_pages,
                 "the store's arena on transparent huge pages while it is "
                 "restored (SeriesStoreOptions::huge_pages)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--seal", f->seal,
                 "on: seal closed windows every simulated hour, as keel serve "
                 "does; off: keep every window in XOR chunks")
      ->check(CLI::IsMember({"on", "off"}));
  app.footer("Prints one JSON line a window boundary, then a summary line.");
  return [f] { return RunChurn(*f); };
}

}  // namespace

KEEL_COMMAND("churn",
             "simulate series churn across a snapshot restart; RSS per window",
             SetUpChurn);

}  // namespace keel::tools
