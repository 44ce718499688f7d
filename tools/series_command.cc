// keel series import FILE [--snapshot-out PATH]: reads samples in the import
// format (core/series/series_text_format.h) into a fresh SeriesStore and
// prints, as JSON, what it stored; with --snapshot-out also writes a snapshot
// of it.
#include <cstdio>

#include "absl/status/status.h"
#include "core/series/series_store.h"
#include "core/series/series_text_format.h"
#include "snapshot/writer.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

int RunSeriesImport(Args& args) {
  constexpr char kName[] = "series import";
  if (auto s = args.Check({"snapshot-out"}); !s.ok()) return Fail(kName, s, 2);
  if (args.positional().size() != 1) {
    return Fail(kName,
                absl::InvalidArgumentError(
                    "usage: keel series import FILE [--snapshot-out PATH]"),
                2);
  }
  core::SeriesStore store;
  auto summary = core::ImportTextFile(args.positional()[0], store);
  if (!summary.ok()) return Fail(kName, summary.status(), 1);
  core::SeriesStoreStats stats = store.Stats();
  JsonObject out;
  out.Add("file", args.positional()[0])
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
  if (stats.samples > 0) {
    out.Add("min_time", stats.min_time).Add("max_time", stats.max_time);
  }
  if (args.Has("snapshot-out")) {
    auto written = snapshot::WriteSnapshot(store, args.Get("snapshot-out"));
    if (!written.ok()) return Fail(kName, written.status(), 1);
    out.Add("snapshot", args.Get("snapshot-out"))
        .Add("snapshot_bytes", written->bytes)
        .Add("snapshot_write_seconds", written->write_seconds);
  }
  std::printf("%s\n", out.str().c_str());
  return 0;
}

}  // namespace

KEEL_COMMAND("series import",
             "read samples in the Prometheus text format (ms timestamps) into "
             "a series store; print what it stored",
             RunSeriesImport);

}  // namespace keel::tools
