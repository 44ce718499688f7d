// keel snapshot inspect PATH: what a snapshot holds (version, counts, time
// range, bytes per section), after checking all of it.
// keel snapshot verify PATH: exit 0 when the whole file checks out (blocks
// and checksums, every chunk decoded against its record, every series'
// labels as a store takes them), or exit 1 with the offset, the record and
// the field that failed. Only a regular file is read: a FIFO or a device is
// refused at once.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "snapshot/reader.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

// The snapshot PATH both commands take: `run(path)` once parsed.
CommandRun SetUpPath(CLI::App& app, int (*run)(const std::string& path)) {
  auto path = std::make_shared<std::string>();
  app.add_option("PATH", *path,
                 "the snapshot file (a regular file; - when stdin is one)")
      ->required();
  return [path, run] { return run(InputPath(*path)); };
}

int RunInspect(const std::string& path) {
  constexpr char kName[] = "snapshot inspect";
  absl::StatusOr<snapshot::SnapshotInfo> info = snapshot::VerifySnapshot(path);
  if (!info.ok()) return Fail(kName, info.status(), 1);
  JsonObject sections;
  sections.Add("header", info->header_section_bytes)
      .Add("strings", info->string_section_bytes)
      .Add("series", info->series_section_bytes)
      .Add("chunks", info->chunk_section_bytes)
      .Add("footer", info->footer_section_bytes);
  JsonObject out;
  out.Add("path", path)
      .Add("version", info->version)
      .Add("chunk_order",
           info->random_order ? "series_random" : "chronological")
      .Add("created_unix_ms", info->created_unix_ms)
      .Add("file_bytes", info->file_bytes)
      .Add("strings", info->strings)
      .Add("series", info->series)
      .Add("chunks", info->chunks)
      .Add("samples", info->samples)
      .Add("chunk_data_bytes", info->chunk_data_bytes)
      .Add("min_time", info->min_time)
      .Add("max_time", info->max_time)
      .Add("blocks", info->blocks)
      .Add("largest_block_bytes", info->largest_block)
      .AddRaw("section_bytes", sections.str());
  std::printf("%s\n", out.str().c_str());
  return 0;
}

int RunVerify(const std::string& path) {
  constexpr char kName[] = "snapshot verify";
  absl::StatusOr<snapshot::SnapshotInfo> info = snapshot::VerifySnapshot(path);
  if (!info.ok()) return Fail(kName, info.status(), 1);
  std::printf("%s: ok, %llu series, %llu chunks, %llu samples, %llu bytes\n",
              path.c_str(), static_cast<unsigned long long>(info->series),
              static_cast<unsigned long long>(info->chunks),
              static_cast<unsigned long long>(info->samples),
              static_cast<unsigned long long>(info->file_bytes));
  return 0;
}

CommandRun SetUpInspect(CLI::App& app) {
  app.footer(
      "Prints one JSON object; exit 1 when the file does not check out.");
  return SetUpPath(app, RunInspect);
}

CommandRun SetUpVerify(CLI::App& app) { return SetUpPath(app, RunVerify); }

}  // namespace

KEEL_COMMAND("snapshot inspect",
             "check a series snapshot and print its counts and section sizes",
             SetUpInspect);
KEEL_COMMAND("snapshot verify",
             "check a series snapshot's blocks, chunks and labels; exit 1 "
             "naming the offset",
             SetUpVerify);

}  // namespace keel::tools
