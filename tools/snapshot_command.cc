// keel snapshot inspect PATH: what a snapshot holds (version, counts, time
// range, bytes per section), after checking all of it.
// keel snapshot verify PATH: exit 0 when the whole file checks out (blocks
// and checksums, every chunk decoded against its record, every series'
// labels as a store takes them), or exit 1 with the offset, the record and
// the field that failed. Only a regular file is read: a FIFO or a device is
// refused at once.
#include <cstdio>

#include "absl/status/status.h"
#include "snapshot/reader.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

absl::StatusOr<std::string> OnePath(Args& args) {
  if (auto s = args.Check({}, {}); !s.ok()) return s;
  if (args.positional().size() != 1) {
    return absl::InvalidArgumentError("takes exactly one snapshot PATH");
  }
  return args.positional()[0];
}

int RunInspect(Args& args) {
  constexpr char kName[] = "snapshot inspect";
  absl::StatusOr<std::string> path = OnePath(args);
  if (!path.ok()) return Fail(kName, path.status(), 2);
  absl::StatusOr<snapshot::SnapshotInfo> info = snapshot::VerifySnapshot(*path);
  if (!info.ok()) return Fail(kName, info.status(), 1);
  JsonObject sections;
  sections.Add("header", info->header_section_bytes)
      .Add("strings", info->string_section_bytes)
      .Add("series", info->series_section_bytes)
      .Add("chunks", info->chunk_section_bytes)
      .Add("footer", info->footer_section_bytes);
  JsonObject out;
  out.Add("path", *path)
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

int RunVerify(Args& args) {
  constexpr char kName[] = "snapshot verify";
  absl::StatusOr<std::string> path = OnePath(args);
  if (!path.ok()) return Fail(kName, path.status(), 2);
  absl::StatusOr<snapshot::SnapshotInfo> info = snapshot::VerifySnapshot(*path);
  if (!info.ok()) return Fail(kName, info.status(), 1);
  std::printf("%s: ok, %llu series, %llu chunks, %llu samples, %llu bytes\n",
              path->c_str(), static_cast<unsigned long long>(info->series),
              static_cast<unsigned long long>(info->chunks),
              static_cast<unsigned long long>(info->samples),
              static_cast<unsigned long long>(info->file_bytes));
  return 0;
}

}  // namespace

KEEL_COMMAND("snapshot inspect",
             "check a series snapshot and print its counts and section sizes",
             RunInspect);
KEEL_COMMAND("snapshot verify",
             "check a series snapshot's blocks, chunks and labels; exit 1 "
             "naming the offset",
             RunVerify);

}  // namespace keel::tools
