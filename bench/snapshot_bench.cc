// keel bench snapshot: writes a snapshot of N series x C chunks, verifies it
// and restores it, timing each; one JSON object on stdout.
//
// The store is filled by restoring pre-encoded XOR chunks of 120 samples
// (counters, random-walk gauges, slow steps, 15 s apart; they compress about
// as Prometheus' own chunks do, docs/churn.md says how well) rather than by
// appending, so the bench spends its time on what it measures. The snapshot
// is read back from the page cache: the figures are keel's
// parse/check/restore speed, not the disk's.
//
// --input FILE fills it from a capture in the import format instead
// (--chunk-window sets the store's window), and --seal seals every window
// before the newest first: then format v1, which writes sealed entries as
// XOR chunks, is measured beside v2, which writes their frames as they are
// (the v1_* fields), in the same run.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "alloc/stats.h"
#include "bench/chunk_window_flag.h"
#include "core/series/series_store.h"
#include "core/series/series_text_format.h"
#include "core/series/xor_chunk.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

constexpr int64_t kStartMs = 1'700'006'400'000;  // a multiple of 2 h
constexpr int64_t kIntervalMs = 15'000;
constexpr int kSamplesPerChunk = 120;  // 30 min: four chunks a 2 h window
constexpr int kPatterns = 64;

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// templates[c * kPatterns + p]: chunk c of value pattern p.
std::vector<core::XorChunk> MakeTemplates(uint32_t chunks_per_series) {
  std::vector<core::XorChunk> templates(size_t{chunks_per_series} * kPatterns);
  for (int p = 0; p < kPatterns; ++p) {
    double value = p % 3 == 0 ? 1000.0 * p : 1.0 + p;
    uint64_t noise = 0x9E3779B97F4A7C15ull * (p + 1);
    for (uint32_t c = 0; c < chunks_per_series; ++c) {
      core::XorChunk& chunk = templates[size_t{c} * kPatterns + p];
      for (int j = 0; j < kSamplesPerChunk; ++j) {
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        int64_t t =
            kStartMs + (int64_t{c} * kSamplesPerChunk + j) * kIntervalMs;
        if (noise % 20 == 0 && j > 0)
          t += static_cast<int64_t>(noise >> 40) % 5 - 2;
        if (p % 3 == 0) {
          value += static_cast<double>(noise % 4);  // counter
        } else if (p % 3 == 1) {
          if (noise % 4 == 0)
            value += (noise >> 8) % 2 ? 0.25 : -0.25;  // gauge
        } else if (noise % 400 == 0) {
          value += 1;  // slow step
        }
        chunk.Append(t, value);
      }
    }
  }
  return templates;
}

core::Labels LabelsOf(uint32_t i) {
  return {{"__name__", absl::StrCat("metric_", i % 500, "_total")},
          {"env", i % 5 == 0 ? "staging" : "production"},
          {"instance", absl::StrCat("10.", i / 65536 % 256, ".", i / 256 % 256,
                                    ".", i % 256, ":9100")},
          {"job", absl::StrCat("job-", i % 40)},
          {"region", absl::StrCat("eu-west-", 1 + i % 3)},
          {"series", absl::StrCat(i / 16777216)}};
}

absl::Status Fill(core::SeriesStore& store, uint32_t series,
                  uint32_t chunks_per_series) {
  std::vector<core::XorChunk> templates = MakeTemplates(chunks_per_series);
  std::vector<core::SeriesRef> refs(series);
  for (uint32_t i = 0; i < series; ++i) {
    auto ref = store.RestoreSeries(LabelsOf(i));
    if (!ref.ok()) return ref.status();
    refs[i] = *ref;
  }
  for (uint32_t c = 0; c < chunks_per_series; ++c) {
    for (uint32_t i = 0; i < series; ++i) {
      const core::XorChunk& chunk =
          templates[size_t{c} * kPatterns + (i * 2654435761u >> 26)];
      core::ChunkData data;
      data.samples = chunk.state().count;
      data.min_time = core::XorFirstTimestamp(chunk.bytes());
      data.max_time = chunk.state().t;
      data.bytes = chunk.bytes();
      if (absl::Status s = store.RestoreChunk(refs[i], data); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// One snapshot written, verified and restored (a v1 restore of sealed
// windows then sealed again, as keel serve's next pass would), each the
// fastest of kRepeats: other processes share the machine.
constexpr int kRepeats = 3;

struct RoundTrip {
  snapshot::WriteStats written;
  double verify_seconds = 0;
  double restore_seconds = 0;
  double reseal_seconds = 0;
};

absl::StatusOr<RoundTrip> WriteAndRead(const core::SeriesStore& store,
                                       const std::string& path,
                                       uint32_t version) {
  snapshot::WriteOptions options;
  options.keep = 1;
  options.version = version;
  RoundTrip out;
  const bool sealed = store.GetSealedStats().windows > 0;
  auto least = [](double& kept, double seconds, int round) {
    if (round == 0 || seconds < kept) kept = seconds;
  };
  for (int round = 0; round < kRepeats; ++round) {
    auto written = snapshot::WriteSnapshot(store, path, options);
    if (!written.ok()) return written.status();
    double write_seconds = written->write_seconds;
    if (round == 0 || write_seconds < out.written.write_seconds) {
      out.written = *written;
    }
    auto start = std::chrono::steady_clock::now();
    auto verified = snapshot::VerifySnapshot(path);
    least(out.verify_seconds, Seconds(start), round);
    if (!verified.ok()) return verified.status();
    snapshot::RestoreStats restore;
    auto restored = snapshot::RestoreSnapshot(path, store.options(), &restore);
    ::unlink(path.c_str());
    if (!restored.ok()) return restored.status();
    least(out.restore_seconds, restore.seconds, round);
    // Only a sealed store is sealed again: sealing an unsealed one's
    // restore would leave it unlike the store it came from.
    if (sealed) {
      start = std::chrono::steady_clock::now();
      (*restored)->SealWindows(INT64_MAX);
      least(out.reseal_seconds, Seconds(start), round);
    }
    core::SeriesStoreStats want = store.Stats();
    core::SeriesStoreStats back = (*restored)->Stats();
    if (back.samples != want.samples || back.series != want.series ||
        (*restored)->GetSealedStats().samples !=
            store.GetSealedStats().samples) {
      return absl::InternalError("restored store differs");
    }
  }
  return out;
}

struct SnapshotBenchFlags {
  uint64_t series = 1000000;
  uint64_t chunks_per_series = 8;
  std::string input;
  std::string chunk_window;
  bool seal = false;
  std::string path;
  bool json = false;  // the output is JSON either way
};

int RunSnapshotBench(const SnapshotBenchFlags& flags) {
  constexpr char kName[] = "bench snapshot";
  std::string path =
      !flags.path.empty()
          ? flags.path
          : absl::StrCat("/tmp/keel-bench-snapshot-", ::getpid(), ".snap");
  core::SeriesStoreOptions options;
  if (absl::Status s = ApplyChunkWindowFlag(flags.chunk_window, options);
      !s.ok()) {
    return UsageError(kName, s);
  }

  auto store = std::make_unique<core::SeriesStore>(options);
  absl::Status filled =
      !flags.input.empty()
          ? core::ImportTextFile(flags.input, *store).status()
          : Fill(*store, static_cast<uint32_t>(flags.series),
                 static_cast<uint32_t>(flags.chunks_per_series));
  if (!filled.ok()) return Fail(kName, filled, 1);
  if (flags.seal) store->SealWindows(INT64_MAX);

  auto v2 = WriteAndRead(*store, path, 2);
  if (!v2.ok()) return Fail(kName, v2.status(), 1);
  // Sealed windows: format v1 (every sealed entry expanded into XOR chunks,
  // sealed again after the restore) measured in the same run.
  std::optional<RoundTrip> v1;
  if (store->GetSealedStats().samples > 0) {
    auto old = WriteAndRead(*store, path, 1);
    if (!old.ok()) return Fail(kName, old.status(), 1);
    v1 = *old;
  }
  store.reset();

  const snapshot::WriteStats& written = v2->written;
  double bytes = static_cast<double>(written.bytes);
  JsonObject out;
  out.Add("series", written.series)
      .Add("chunks", written.chunks)
      .Add("samples", written.samples)
      .Add("snapshot_bytes", written.bytes)
      .Add("write_buffer_bytes", written.buffer_bytes)
      .Add("cut_seconds", written.cut_seconds)
      .Add("write_seconds", written.write_seconds)
      .Add("write_bytes_per_sec", bytes / written.write_seconds)
      .Add("verify_seconds", v2->verify_seconds)
      .Add("verify_bytes_per_sec", bytes / v2->verify_seconds)
      .Add("restore_seconds", v2->restore_seconds)
      .Add("restore_bytes_per_sec", bytes / v2->restore_seconds)
      .Add("reseal_seconds", v2->reseal_seconds);
  if (v1.has_value()) {
    out.Add("v1_snapshot_bytes", v1->written.bytes)
        .Add("v1_write_seconds", v1->written.write_seconds)
        .Add("v1_verify_seconds", v1->verify_seconds)
        .Add("v1_restore_seconds", v1->restore_seconds)
        .Add("v1_reseal_seconds", v1->reseal_seconds);
  }
  out.Add("rss_bytes", alloc::ProcessRssBytes());
  std::printf("%s\n", out.str().c_str());
  return 0;
}

CommandRun SetUpSnapshotBench(CLI::App& app) {
  auto flags = std::make_shared<SnapshotBenchFlags>();
  app.add_option("--series", flags->series, "series in the store")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 24));
  app.add_option("--chunks-per-series", flags->chunks_per_series,
                 "chunks of 120 samples a series")
      ->check(CLI::Range(uint64_t{1}, uint64_t{64}));
  app.add_option("--input", flags->input,
                 "samples in the import format (keel series import) instead "
                 "of the generated chunks");
  app.add_option("--chunk-window", flags->chunk_window,
                 "the store's chunk window (default 2h), such as 300s");
  app.add_flag("--seal", flags->seal,
               "seal the windows before the newest, then measure format v1 "
               "(sealed entries as XOR chunks) beside v2 (frames as they "
               "are): the v1_* fields");
  app.add_option("--path", flags->path,
                 "the snapshot file, removed at the end (default: "
                 "/tmp/keel-bench-snapshot-PID.snap)");
  app.add_flag("--json", flags->json,
               "JSON output (the only format; accepted for scripts)");
  app.footer("Prints one JSON object (see bench/snapshot_bench.cc).");
  return [flags] { return RunSnapshotBench(*flags); };
}

}  // namespace

KEEL_COMMAND("bench snapshot",
             "write, verify and restore a snapshot of N series x C chunks",
             SetUpSnapshotBench);

}  // namespace keel::tools
