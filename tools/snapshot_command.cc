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
  sections.add("header", info->header_section_bytes)
      .add("strings", info->string_section_bytes)
      .add("series", info->series_section_bytes)
      .add("chunks", info->chunk_section_bytes)
      .add("footer", info->footer_section_bytes);
  JsonObject out;
  out.add("path", *path)
      .add("version", info->version)
      .add("chunk_order",
           info->random_order ? "series_random" : "chronological")
      .add("created_unix_ms", info->created_unix_ms)
      .add("file_bytes", info->file_bytes)
      .add("strings", info->strings)
      .add("series", info->series)
      .add("chunks", info->chunks)
      .add("samples", info->samples)
      .add("chunk_data_bytes", info->chunk_data_bytes)
      .add("min_time", info->min_time)
      .add("max_time", info->max_time)
      .add("blocks", info->blocks)
      .add("largest_block_bytes", info->largest_block)
      .add_raw("section_bytes", sections.str());
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
