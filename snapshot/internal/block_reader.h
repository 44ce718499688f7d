// BlockReader: streams a snapshot file block by block through one bounded
// buffer, handing out a block's payload only after its CRC32C checked out.
//
//   auto reader = BlockReader::Open(path);
//   if (!reader.ok()) return reader.status();   // magic, version, CRC, size
//   for (;;) {
//     auto block = (*reader)->Next();
//     if (!block.ok()) return block.status();   // "offset N: ..."
//     if (block->section == Section::kFooter) break;
//     ... parse block->payload ...
//   }
//   (*reader)->footer();                        // chain checksum verified
//
// The buffer holds the largest block the header declares, which Open()
// refuses above kMaxReadBuffer (4 MiB of records plus one 1 MiB chunk).
// Sections must come in order and the footer must end the file exactly.
// Thread safety: none; one reader thread.
#ifndef KEEL_SNAPSHOT_INTERNAL_BLOCK_READER_H_
#define KEEL_SNAPSHOT_INTERNAL_BLOCK_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snapshot/internal/format.h"

namespace keel::snapshot::snapshot_internal {

struct Block {
  Section section;
  uint32_t record_count;
  std::span<const uint8_t> payload;  // valid until the next Next()
  uint64_t payload_offset;           // file offset of payload[0]
};

class BlockReader {
 public:
  static absl::StatusOr<std::unique_ptr<BlockReader>> Open(
      const std::string& path);
  ~BlockReader();
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  const Header& header() const { return header_; }
  // The next block, CRC checked. The footer block is checked further (chain
  // checksum, block count, end of file) before it is returned; no call may
  // follow it.
  absl::StatusOr<Block> Next();
  // REQUIRES: Next() returned the footer.
  const Footer& footer() const { return footer_; }
  // Bytes of the blocks of each section read so far, headers included.
  uint64_t SectionBytes(Section s) const {
    return section_bytes_[static_cast<size_t>(s)];
  }
  const std::string& path() const { return path_; }

 private:
  BlockReader(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  absl::Status ReadExactly(uint8_t* out, size_t n, const char* what);
  [[gnu::cold]] absl::Status Corrupt(uint64_t offset,
                                     const std::string& what) const;
  absl::Status CheckFooter(const uint8_t* payload, uint64_t offset);

  std::string path_;
  int fd_ = -1;
  Header header_;
  Footer footer_;
  std::unique_ptr<uint8_t[]> buffer_;
  uint64_t offset_ = 0;
  uint32_t chain_crc_ = 0;
  uint64_t data_blocks_ = 0;
  Section last_section_ = Section::kStrings;
  bool done_ = false;
  uint64_t section_bytes_[6] = {};
};

}  // namespace keel::snapshot::snapshot_internal

#endif  // KEEL_SNAPSHOT_INTERNAL_BLOCK_READER_H_
