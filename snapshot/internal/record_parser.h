// ParseSnapshot: reads a whole snapshot file, block by block, checks every
// record against the format (snapshot/FORMAT.md) and hands the series and
// chunks to a visitor. Verify, inspect, dump and restore all read through it,
// so they accept and refuse exactly the same files.
//
//   class Counter : public RecordVisitor { ... };
//   Counter counter;
//   absl::StatusOr<ParseSummary> s = ParseSnapshot(path, &counter);
//
// Memory: one block buffer (BlockReader) plus the string table and one
// timestamp per series for the order checks.
// Thread safety: none; one thread per parse.
#ifndef KEEL_SNAPSHOT_INTERNAL_RECORD_PARSER_H_
#define KEEL_SNAPSHOT_INTERNAL_RECORD_PARSER_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/snapshot/internal/format.h"

namespace keel::snapshot::snapshot_internal {

using LabelView = std::pair<std::string_view, std::string_view>;

struct ChunkRecord {
  uint32_t series;  // file-local series number
  int64_t min_time;
  int64_t max_time;
  uint32_t sample_count;
  uint8_t encoding;
  std::span<const uint8_t> bytes;  // valid during the visitor call
};

// Receives records in file order. An error a visitor returns stops the
// parse and comes back with the record's offset prepended.
class RecordVisitor {
 public:
  virtual ~RecordVisitor() = default;
  virtual absl::Status OnSeries(uint32_t series,
                                std::span<const LabelView> labels) = 0;
  virtual absl::Status OnChunk(const ChunkRecord& chunk) = 0;
};

struct ParseSummary {
  Header header;
  Footer footer;
  uint64_t string_bytes = 0;  // bytes of each section's blocks
  uint64_t series_bytes = 0;
  uint64_t chunk_bytes = 0;
  uint64_t footer_bytes = 0;
  uint64_t data_blocks = 0;
};

// `visitor` may be null (verify).
absl::StatusOr<ParseSummary> ParseSnapshot(const std::string& path,
                                           RecordVisitor* visitor);

}  // namespace keel::snapshot::snapshot_internal

#endif  // KEEL_SNAPSHOT_INTERNAL_RECORD_PARSER_H_
