// Reading snapshots (format: snapshot/FORMAT.md): restore, verify, inspect.
//
// RestoreSnapshot streams the file through one bounded buffer (the largest
// block, at most 4 MiB of records plus one chunk), checks every block's
// CRC32C before using a byte of it, and rebuilds the series in a NEW store
// through its bulk restore (core::SeriesRestorer, sized from the header's
// counts), allocating chunks in file order, which is chronological, so
// restored and later ingested chunks share size classes and blocks. The
// store is handed back only when the whole file checked out; on any error
// the caller's live store is untouched and the error names the file offset
// and what failed.
//
//   auto restored = keel::snapshot::RestoreSnapshot(path, options);
//   if (!restored.ok()) return restored.status();  // live store kept
//   live = std::move(*restored);
//
// VerifySnapshot makes every check a restore makes, without a store, and
// returns what inspect prints: the structure and checksums, every chunk
// decoded (core_internal::CheckChunkContent, which a restore runs too) and
// every series' labels as a store would take them, no series twice. Only the
// fit of chunks to the restoring store's chunk windows is left to a restore.
//
// A restore may report its progress to a callback, every few seconds, for
// the log of a long one (keel serve's "restoring ...: 45% ...").
//
// Both decode every chunk on up to 8 worker threads of their own (as many
// as the hardware has), beside the thread that parses, and join them before
// they return. Their temporaries (the parser's tables, the decoders'
// batches) come from the "snapshot" thread arena and are returned to the
// kernel before they return: nothing but the restored store stays resident.
//
// Thread safety: the functions share nothing; run them on any threads.
#ifndef KEEL_SNAPSHOT_READER_H_
#define KEEL_SNAPSHOT_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/series/series_store.h"

namespace keel::snapshot {

struct SnapshotInfo {
  uint32_t version = 0;
  bool random_order = false;  // chunks in series-major random order
  int64_t created_unix_ms = 0;
  uint64_t file_bytes = 0;
  uint64_t strings = 0;
  uint64_t series = 0;
  uint64_t chunks = 0;
  uint64_t samples = 0;
  uint64_t chunk_data_bytes = 0;  // the chunks' encoded bytes
  int64_t min_time = 0;           // over all chunks (0 when none)
  int64_t max_time = 0;
  uint64_t blocks = 0;         // data blocks
  uint64_t largest_block = 0;  // payload bytes: the read buffer
  uint64_t header_section_bytes = 0;
  uint64_t string_section_bytes = 0;  // blocks of each section, headers in
  uint64_t series_section_bytes = 0;
  uint64_t chunk_section_bytes = 0;
  uint64_t frame_section_bytes = 0;  // v2: sealed windows' frames
  uint64_t frames = 0;
  uint64_t sealed_chunks = 0;  // chunk records naming a frame's entry
  uint64_t footer_section_bytes = 0;
};

// Checks the whole file, labels against `limits`. Errors: NotFound (cannot
// open), FailedPrecondition (not a regular file, or a newer format version),
// DataLoss "PATH: offset N: what failed" (for a record's content: "series S:
// ..." or "chunk C: series S, chunk [min, max]: the field at fault").
absl::StatusOr<SnapshotInfo> VerifySnapshot(
    const std::string& path, const core::LabelLimits& limits = {});

struct RestoreStats {
  SnapshotInfo info;
  double seconds = 0;
};

// How far a restore has come. Chunk records are most of a file, so
// bytes_read, the offset of the last chunk record restored, is 0 until the
// chunks begin; the series count tells the progress before them.
struct RestoreProgress {
  uint64_t bytes_read = 0;
  uint64_t file_bytes = 0;
  uint64_t series = 0;  // restored so far
  uint64_t series_total = 0;
  uint64_t chunks = 0;  // restored so far
  uint64_t chunks_total = 0;
  double seconds = 0;  // since the restore began
};

struct RestoreProgressOptions {
  // Called on the restoring thread, once every `interval_seconds` of the
  // restore (checked every 1024 records; 0: at every check). Empty: never.
  std::function<void(const RestoreProgress&)> callback;
  double interval_seconds = 5;
};

// A new store built with `options` holding the snapshot's series and
// chunks. Errors as VerifySnapshot, plus the store's own refusals of a
// series or chunk (with the record's offset).
absl::StatusOr<std::unique_ptr<core::SeriesStore>> RestoreSnapshot(
    const std::string& path, const core::SeriesStoreOptions& options = {},
    RestoreStats* stats = nullptr, const RestoreProgressOptions& progress = {});

}  // namespace keel::snapshot

#endif  // KEEL_SNAPSHOT_READER_H_
