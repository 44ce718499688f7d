// The fixed parts of snapshot format v2 (snapshot/FORMAT.md; v1 is read too):
// the header, block headers, record sizes and the footer, with their encoders
// and checked decoders. The block writer and reader, the snapshot Writer and
// Reader all take their layout from here, so the format lives in one place.
//
//   uint8_t bytes[kHeaderBytes];
//   EncodeHeader(header, bytes);
//   absl::StatusOr<Header> h = DecodeHeader(bytes);   // checks magic, version,
//   CRC
//
// Thread safety: pure functions.
#ifndef KEEL_SNAPSHOT_INTERNAL_FORMAT_H_
#define KEEL_SNAPSHOT_INTERNAL_FORMAT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace keel::snapshot::snapshot_internal {

inline constexpr char kMagic[8] = {'K', 'E', 'E', 'L', 'S', 'N', 'A', 'P'};
inline constexpr uint32_t kVersion = 2;
// The oldest version read: v1 has no frames section and XOR chunks only.
inline constexpr uint32_t kOldestVersion = 1;
inline constexpr size_t kHeaderBytes = 64;
inline constexpr size_t kBlockHeaderBytes = 16;
inline constexpr size_t kFooterPayloadBytes = 48;
inline constexpr size_t kChunkRecordFixedBytes = 29;
// A series record: u32 label count, then a u32 name and value string id a
// label, at least one.
inline constexpr size_t kMinSeriesRecordBytes = 4 + 8;
// A frame record: u32 group bytes, u32 frame bytes, then the frame.
inline constexpr size_t kFrameRecordFixedBytes = 8;
// A group of frames fills one buffer of a sealed window: at most this (the
// store's largest window block), or one frame larger than that.
inline constexpr uint32_t kMaxFrameGroupBytes = 1u << 20;
// A sealed chunk record's bytes: u32 frame number, u32 entry offset.
inline constexpr size_t kSealedChunkBytes = 8;
inline constexpr uint32_t kDefaultBlockPayload = 1 << 20;
inline constexpr uint32_t kMaxBlockPayloadBound = 4 << 20;
// A reader's largest buffer: a full block, or one record (a chunk) too big
// for a block on its own, whichever is larger.
inline constexpr size_t kMaxReadBuffer = kMaxBlockPayloadBound + (1 << 20);
// Flag bit 0: chunks in series-major random order (churn baseline only).
inline constexpr uint32_t kFlagRandomOrder = 1;

enum class Section : uint8_t {
  kStrings = 1,
  kSeries = 2,
  kChunks = 3,
  kFooter = 4,
  kFrames = 5,  // v2: between series and chunks
};

const char* SectionName(Section s);
// A section's place in the file: frames (5) come before chunks (3).
int SectionRank(Section s);

struct Header {
  uint32_t version = kVersion;
  uint32_t flags = 0;
  int64_t created_unix_ms = 0;
  uint64_t string_count = 0;
  uint64_t series_count = 0;
  uint64_t chunk_count = 0;
  uint64_t file_bytes = 0;
  uint32_t largest_block_payload = 0;

  // The header's series count, bounded by what a file this long can hold:
  // for what a reader reserves before the records confirm the count.
  uint64_t SeriesBound() const {
    return std::min<uint64_t>(series_count, file_bytes / kMinSeriesRecordBytes);
  }
};

struct Footer {
  uint64_t sample_count = 0;
  uint64_t chunk_bytes = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint64_t block_count = 0;
  uint32_t chain_crc = 0;
};

struct BlockHeader {
  Section section = Section::kStrings;
  uint32_t payload_bytes = 0;
  uint32_t record_count = 0;
  uint32_t crc = 0;
};

void EncodeHeader(const Header& h, uint8_t* out);
// Checks magic, version (newer versions refused by name) and CRC. Errors
// name the offset of the failing field.
absl::StatusOr<Header> DecodeHeader(const uint8_t* in);

void EncodeFooter(const Footer& f, uint8_t* out);
// REQUIRES: in holds kFooterPayloadBytes already CRC-checked bytes.
absl::StatusOr<Footer> DecodeFooter(const uint8_t* in, uint64_t offset);

// Writes the block header, CRC included, for `payload`.
void EncodeBlockHeader(Section section, uint32_t record_count,
                       const uint8_t* payload, uint32_t payload_bytes,
                       uint8_t* out);
// Decodes the fields; the CRC is checked against the payload separately.
absl::StatusOr<BlockHeader> DecodeBlockHeader(const uint8_t* in,
                                              uint64_t offset);

// Whether a record of `record_bytes` joins a block already holding
// `payload_bytes`, or starts the next one. The writer and the size planner
// both ask this, so the planned size is the written size.
inline bool FitsInBlock(size_t payload_bytes, size_t record_bytes,
                        size_t block_payload) {
  return payload_bytes == 0 || payload_bytes + record_bytes <= block_payload;
}

// Sizes the blocks of one section from its record sizes, as the writer will
// pack them: feed every record, then read bytes() and largest_payload().
class SectionPlan {
 public:
  explicit SectionPlan(size_t block_payload) : block_payload_(block_payload) {}
  void Add(size_t record_bytes) {
    if (!FitsInBlock(open_, record_bytes, block_payload_)) Close();
    open_ += record_bytes;
  }
  // Bytes of the section's blocks, headers included.
  uint64_t bytes() const {
    return closed_bytes_ + (open_ > 0 ? kBlockHeaderBytes + open_ : 0);
  }
  uint64_t blocks() const { return closed_blocks_ + (open_ > 0 ? 1 : 0); }
  size_t largest_payload() const { return largest_ > open_ ? largest_ : open_; }

 private:
  void Close() {
    closed_bytes_ += kBlockHeaderBytes + open_;
    ++closed_blocks_;
    if (open_ > largest_) largest_ = open_;
    open_ = 0;
  }
  size_t block_payload_;
  size_t open_ = 0;
  size_t largest_ = 0;
  uint64_t closed_bytes_ = 0;
  uint64_t closed_blocks_ = 0;
};

}  // namespace keel::snapshot::snapshot_internal

#endif  // KEEL_SNAPSHOT_INTERNAL_FORMAT_H_
