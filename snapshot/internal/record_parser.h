// ParseSnapshot: reads a whole snapshot file, block by block, checks every
// record against the format (snapshot/FORMAT.md) and hands the series and
// chunks to a visitor. Verify, inspect, dump and restore all read through it,
// so they accept and refuse exactly the same files.
//
//   class Counter : public RecordVisitor { ... };
//   Counter counter;
//   absl::StatusOr<ParseSummary> s = ParseSnapshot(path, &counter);
//
// Memory: one block buffer (BlockReader) plus one timestamp per series for
// the order checks; strings go to the visitor, which keeps what it needs.
// Thread safety: none; one thread per parse.
#ifndef KEEL_SNAPSHOT_INTERNAL_RECORD_PARSER_H_
#define KEEL_SNAPSHOT_INTERNAL_RECORD_PARSER_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/series_store.h"
#include "snapshot/internal/format.h"

namespace keel::snapshot::snapshot_internal {

// A label as a series record holds it: the numbers of its name and value
// strings (checked to be below the strings read). The store's restore type,
// so a restore hands the labels on as they are.
using LabelRef = core::RestoreLabel;

struct ChunkRecord {
  uint32_t series;  // file-local series number
  int64_t min_time;
  int64_t max_time;
  uint32_t sample_count;
  uint8_t encoding;
  std::span<const uint8_t> bytes;  // valid during the visitor call
  uint64_t offset;                 // the record's file offset
  uint64_t number;                 // chunks before it in the file
  // A sealed entry (encoding core::kSealedEncoding, v2): its frame's number
  // and the entry as the frame's check found it (count and times equal
  // the record's); valid during the visitor call.
  uint32_t frame = 0;
  const core::core_internal::SealedEntryInfo* entry = nullptr;
};

// Receives records in file order. An error a visitor returns stops the
// parse and comes back with the record's offset prepended.
class RecordVisitor {
 public:
  virtual ~RecordVisitor() = default;
  // The checked header, before any record.
  virtual absl::Status OnHeader(const Header& header) = 0;
  // String `index`: 0, 1, ... in file order.
  virtual absl::Status OnString(uint32_t index, std::string_view s) = 0;
  virtual absl::Status OnSeries(uint32_t series,
                                std::span<const LabelRef> labels) = 0;
  virtual absl::Status OnChunk(const ChunkRecord& chunk) = 0;
  // Frame `frame` (0, 1, ... in file order) of a v2 file, checked
  // (core_internal::CheckSealedFrame, which gave the copy a new id);
  // `bytes` are valid during the call. Visitors without sealed data
  // ignore it.
  virtual absl::Status OnFrame(uint32_t /*frame*/, uint32_t /*group_bytes*/,
                               std::span<const uint8_t> /*bytes*/) {
    return absl::OkStatus();
  }
};

struct ParseSummary {
  Header header;
  Footer footer;
  uint64_t string_bytes = 0;  // bytes of each section's blocks
  uint64_t series_bytes = 0;
  uint64_t frame_bytes = 0;
  uint64_t chunk_bytes = 0;
  uint64_t footer_bytes = 0;
  uint64_t frames = 0;         // frame records (v2)
  uint64_t sealed_chunks = 0;  // chunk records of sealed entries
  uint64_t data_blocks = 0;
};

// `visitor` may be null (verify).
absl::StatusOr<ParseSummary> ParseSnapshot(const std::string& path,
                                           RecordVisitor* visitor);

}  // namespace keel::snapshot::snapshot_internal

#endif  // KEEL_SNAPSHOT_INTERNAL_RECORD_PARSER_H_
