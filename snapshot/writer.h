// WriteSnapshot: saves every series of a SeriesStore to a snapshot file
// (format: snapshot/FORMAT.md), crash-safely.
//
// Takes a consistent cut (SeriesStore::Cut: one short lock per stripe, so
// appends go on while the file is written), computes the exact file size,
// preallocates it, streams the blocks through one reused buffer of at most
// max(block bound, largest chunk record), then fsyncs, renames into place
// and fsyncs the directory. PATH always holds a complete snapshot, old or
// new; the previous ones stay as PATH.1 .. PATH.<keep-1>.
//
// Memory: the cut's lists (labels and chunk references of every series, and
// the chunks' file order: tens of bytes a chunk) live until the write ends,
// in the "snapshot" thread arena, which returns them to the kernel then.
//
//   absl::StatusOr<keel::snapshot::WriteStats> w =
//       keel::snapshot::WriteSnapshot(store, "/var/lib/keel/series.snap");
//   if (!w.ok()) LOG(...) << w.status();
//
// Thread safety: may run while other threads append to and read the store.
// One writer per PATH at a time.
#ifndef KEEL_SNAPSHOT_WRITER_H_
#define KEEL_SNAPSHOT_WRITER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/series/series_store.h"

namespace keel::snapshot {

enum class ChunkOrder {
  // By (min time, series): restores allocate in ingestion order. The format.
  kChronological,
  // Series in random order, each series' chunks together (Prometheus' own
  // chunk snapshot layout); only for the churn experiment's baseline.
  kSeriesRandom,
};

struct WriteOptions {
  int keep = 2;                      // snapshots kept, this one included (>= 1)
  uint32_t block_payload = 1 << 20;  // block fill bound, 4 KiB .. 4 MiB
  ChunkOrder order = ChunkOrder::kChronological;
  uint64_t random_seed = 1;  // kSeriesRandom's permutation
  // 2 writes sealed windows' frames as they are; 1 (what keel before
  // format v2 reads) expands sealed entries into XOR chunks.
  uint32_t version = 2;
};

struct WriteStats {
  uint64_t bytes = 0;  // file size
  uint64_t strings = 0;
  uint64_t series = 0;
  uint64_t chunks = 0;
  uint64_t samples = 0;
  uint64_t buffer_bytes = 0;  // the one write buffer's size
  double cut_seconds = 0;     // SeriesStore::Cut
  double write_seconds = 0;   // everything, the cut included
};

absl::StatusOr<WriteStats> WriteSnapshot(const core::SeriesStore& store,
                                         const std::string& path,
                                         const WriteOptions& options = {});

}  // namespace keel::snapshot

#endif  // KEEL_SNAPSHOT_WRITER_H_
