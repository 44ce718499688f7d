// BlockWriter: packs records into CRC-checked blocks (snapshot/FORMAT.md)
// through one buffer allocated once and reused for every block.
//
//   BlockWriter blocks(file, kDefaultBlockPayload, largest_record);
//   RETURN_IF_ERROR(blocks.WriteHeader(header_bytes));
//   RETURN_IF_ERROR(blocks.StartSection(Section::kStrings));
//   uint8_t* p = blocks.AddRecord(n).value();   // write n bytes at p
//   ...
//   RETURN_IF_ERROR(blocks.WriteFooter(footer));
//
// Records are packed by FitsInBlock, as SectionPlan sizes them, so the
// bytes written equal the size planned before writing.
// Thread safety: none; one writer thread.
#ifndef KEEL_SNAPSHOT_INTERNAL_BLOCK_WRITER_H_
#define KEEL_SNAPSHOT_INTERNAL_BLOCK_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/atomic_file.h"
#include "snapshot/internal/format.h"

namespace keel::snapshot::snapshot_internal {

class BlockWriter {
 public:
  // `out` must outlive the writer. Records up to max(block_payload,
  // largest_record) bytes fit; the buffer is that plus a block header.
  BlockWriter(core::AtomicFile& out, size_t block_payload,
              size_t largest_record);

  // Writes the file header and starts the chain checksum with it.
  absl::Status WriteHeader(const uint8_t (&header)[kHeaderBytes]);
  // Closes the open block; later records go to section `s`.
  absl::Status StartSection(Section s);
  // Room for one record of n bytes, valid until the next call.
  // REQUIRES: n <= the largest record given to the constructor.
  absl::StatusOr<uint8_t*> AddRecord(size_t n);
  // Closes the open block and writes the footer, chain checksum and block
  // count filled in.
  absl::Status WriteFooter(Footer footer);

  uint64_t data_blocks() const { return data_blocks_; }

 private:
  absl::Status CloseBlock();

  core::AtomicFile& out_;
  size_t block_payload_;
  size_t capacity_;
  std::unique_ptr<uint8_t[]> buffer_;  // block header, then payload
  Section section_ = Section::kStrings;
  size_t payload_ = 0;
  uint32_t records_ = 0;
  uint32_t chain_crc_ = 0;
  uint64_t data_blocks_ = 0;
};

}  // namespace keel::snapshot::snapshot_internal

#endif  // KEEL_SNAPSHOT_INTERNAL_BLOCK_WRITER_H_
