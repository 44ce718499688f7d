// keel series import [FILE] [--snapshot-out PATH]: reads samples in the
// import format (core/series/series_text_format.h) from FILE or stdin into a
// fresh SeriesStore, seals every window before the newest one
// (SeriesStore::SealWindows) and prints, as JSON, what it stored, head and
// sealed windows apart; with --snapshot-out also writes a snapshot of it.
//
//   keel series import < metrics.txt
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/series/series_store.h"
#include "core/series/series_text_format.h"
#include "snapshot/writer.h"
#include "tools/command.h"
#include "tools/json.h"
#include "tools/series_json.h"

namespace keel::tools {
namespace {

struct SeriesImportFlags {
  std::string file = "-";
  std::string snapshot_out;
};

int RunSeriesImport(const SeriesImportFlags& flags) {
  constexpr char kName[] = "series import";
  if (flags.file == "-" && isatty(0) == 1) {
    return UsageError(kName, absl::InvalidArgumentError(
                                 "no FILE given and stdin is a terminal"));
  }
  core::SeriesStore store;
  auto summary = core::ImportTextFile(InputPath(flags.file), store);
  if (!summary.ok()) return Fail(kName, summary.status(), 1);
  store.SealWindows(INT64_MAX);
  core::SeriesStoreStats stats = store.Stats();
  const core::SeriesStore::SealedStats sealed = store.GetSealedStats();
  JsonObject out;
  out.Add("file", flags.file)
      .Add("lines", summary->lines)
      .Add("samples_read", summary->samples)
      .Add("appended", summary->appended)
      .Add("duplicates", summary->duplicates)
      .Add("out_of_order", summary->out_of_order)
      .Add("conflicts", summary->conflicts)
      .Add("too_old", summary->too_old)
      .Add("series", stats.series)
      .Add("samples", stats.samples)
      .Add("chunks", stats.chunks)
      .Add("encoded_bytes", stats.live_bytes)
      .Add("chunk_bytes", stats.chunk_bytes);
  AddHeadAndSealedBytes(stats, sealed, out);
  if (stats.samples > 0) {
    out.Add("min_time", stats.min_time).Add("max_time", stats.max_time);
  }
  if (!flags.snapshot_out.empty()) {
    auto written = snapshot::WriteSnapshot(store, flags.snapshot_out);
    if (!written.ok()) return Fail(kName, written.status(), 1);
    out.Add("snapshot", flags.snapshot_out)
        .Add("snapshot_bytes", written->bytes)
        .Add("snapshot_write_seconds", written->write_seconds);
  }
  std::printf("%s\n", out.str().c_str());
  return 0;
}

CommandRun SetUpSeriesImport(CLI::App& app) {
  auto flags = std::make_shared<SeriesImportFlags>();
  app.add_option("FILE", flags->file,
                 "samples, `name{labels} value timestamp_ms` a line (the "
                 "Prometheus text format; gzip too); - or none reads stdin");
  app.add_option("--snapshot-out", flags->snapshot_out,
                 "also write a snapshot of the store to this path");
  app.footer("Prints, as JSON, what the store holds after the import.");
  return [flags] { return RunSeriesImport(*flags); };
}

}  // namespace

KEEL_COMMAND("series import",
             "read samples in the Prometheus text format (ms timestamps) into "
             "a series store; print what it stored",
             SetUpSeriesImport);

}  // namespace keel::tools
