#include "snapshot/internal/block_writer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/io/crc32c.h"

namespace keel::snapshot::snapshot_internal {

using core::AtomicFile;
using core::Crc32c;
using core::ExtendCrc32c;

BlockWriter::BlockWriter(AtomicFile& out, size_t block_payload,
                         size_t largest_record)
    : out_(out),
      block_payload_(block_payload),
      capacity_(std::max({block_payload, largest_record, kFooterPayloadBytes})),
      buffer_(new uint8_t[kBlockHeaderBytes + capacity_]) {}

absl::Status BlockWriter::WriteHeader(const uint8_t (&header)[kHeaderBytes]) {
  chain_crc_ = Crc32c(header, kHeaderBytes);
  return out_.Append(header, kHeaderBytes);
}

absl::Status BlockWriter::StartSection(Section s) {
  if (absl::Status st = CloseBlock(); !st.ok()) return st;
  section_ = s;
  return absl::OkStatus();
}

absl::StatusOr<uint8_t*> BlockWriter::AddRecord(size_t n) {
  if (n > capacity_) {
    return absl::InternalError(absl::StrCat(
        "snapshot record of ", n, " bytes exceeds the planned ", capacity_));
  }
  if (!FitsInBlock(payload_, n, block_payload_)) {
    if (absl::Status st = CloseBlock(); !st.ok()) return st;
  }
  uint8_t* record = buffer_.get() + kBlockHeaderBytes + payload_;
  payload_ += n;
  ++records_;
  return record;
}

absl::Status BlockWriter::CloseBlock() {
  if (payload_ == 0) return absl::OkStatus();
  uint8_t* head = buffer_.get();
  EncodeBlockHeader(section_, records_, head + kBlockHeaderBytes,
                    static_cast<uint32_t>(payload_), head);
  if (section_ != Section::kFooter) {
    chain_crc_ = ExtendCrc32c(chain_crc_, head, kBlockHeaderBytes);
    ++data_blocks_;
  }
  absl::Status st = out_.Append(head, kBlockHeaderBytes + payload_);
  payload_ = 0;
  records_ = 0;
  return st;
}

absl::Status BlockWriter::WriteFooter(Footer footer) {
  if (absl::Status st = StartSection(Section::kFooter); !st.ok()) return st;
  footer.chain_crc = chain_crc_;
  footer.block_count = data_blocks_;
  EncodeFooter(footer, buffer_.get() + kBlockHeaderBytes);
  payload_ = kFooterPayloadBytes;
  records_ = 1;
  return CloseBlock();
}

}  // namespace keel::snapshot::snapshot_internal
