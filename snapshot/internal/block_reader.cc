#include "snapshot/internal/block_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "core/io/crc32c.h"
#include "core/io/errno_status.h"

namespace keel::snapshot::snapshot_internal {

using core::Crc32c;
using core::ErrnoStatus;
using core::ExtendCrc32c;

namespace {

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "an unknown kind";
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlockReader>> BlockReader::Open(
    const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
  // writer, and reading one would wait for data; only a regular file is read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoStatus(errno, path, "open");
  std::unique_ptr<BlockReader> r(new BlockReader(path, fd));
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, path, "stat");
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a regular file (", FileKind(st.st_mode),
                     "); a snapshot is read only from a regular file"));
  }
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, path, "fcntl");
  }
  auto size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderBytes) {
    return r->Corrupt(size, absl::StrCat("file ends inside the ", kHeaderBytes,
                                         "-byte header"));
  }
  uint8_t head[kHeaderBytes];
  if (absl::Status s = r->ReadExactly(head, kHeaderBytes, "header"); !s.ok()) {
    return s;
  }
  absl::StatusOr<Header> header = DecodeHeader(head);
  if (!header.ok()) {
    return absl::Status(header.status().code(),
                        absl::StrCat(path, ": ", header.status().message()));
  }
  r->header_ = *header;
  if (size < header->file_bytes) {
    return r->Corrupt(size, absl::StrCat("file truncated: it ends here, the "
                                         "header says it has ",
                                         header->file_bytes, " bytes"));
  }
  if (size > header->file_bytes) {
    return r->Corrupt(header->file_bytes,
                      absl::StrCat(size - header->file_bytes,
                                   " bytes follow the end the header gives"));
  }
  if (header->largest_block_payload > kMaxReadBuffer) {
    return r->Corrupt(
        56,
        absl::StrCat("header: largest block of ", header->largest_block_payload,
                     " bytes exceeds the reader's bound ", kMaxReadBuffer));
  }
  size_t capacity =
      std::max<size_t>(header->largest_block_payload, kFooterPayloadBytes);
  r->buffer_.reset(new uint8_t[capacity]);
  r->chain_crc_ = Crc32c(head, kHeaderBytes);
  return r;
}

BlockReader::~BlockReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status BlockReader::Corrupt(uint64_t offset,
                                  const std::string& what) const {
  return absl::DataLossError(
      absl::StrCat(path_, ": offset ", offset, ": ", what));
}

absl::Status BlockReader::ReadExactly(uint8_t* out, size_t n,
                                      const char* what) {
  uint64_t start = offset_;
  while (n > 0) {
    ssize_t got = ::read(fd_, out, n);
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path_,
                         absl::StrCat("read at offset ", offset_));
    }
    if (got == 0) {
      return Corrupt(offset_, absl::StrCat("file ends inside the ", what,
                                           " that starts at offset ", start));
    }
    out += got;
    n -= static_cast<size_t>(got);
    offset_ += static_cast<uint64_t>(got);
  }
  return absl::OkStatus();
}

absl::StatusOr<Block> BlockReader::Next() {
  if (done_) return absl::FailedPreconditionError("read past the footer");
  const uint64_t block_offset = offset_;
  if (block_offset + kBlockHeaderBytes > header_.file_bytes) {
    return Corrupt(block_offset, "no footer before the end of the file");
  }
  uint8_t head[kBlockHeaderBytes];
  if (absl::Status s = ReadExactly(head, kBlockHeaderBytes, "block header");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<BlockHeader> bh = DecodeBlockHeader(head, block_offset);
  if (!bh.ok()) {
    return absl::DataLossError(
        absl::StrCat(path_, ": ", bh.status().message()));
  }
  const char* name = SectionName(bh->section);
  if (bh->section == Section::kFrames && header_.version < 2) {
    return Corrupt(block_offset, absl::StrCat("a frames block in a version ",
                                              header_.version, " file"));
  }
  if (SectionRank(bh->section) < SectionRank(last_section_)) {
    return Corrupt(block_offset,
                   absl::StrCat("a ", name, " block after a ",
                                SectionName(last_section_), " block"));
  }
  size_t limit = bh->section == Section::kFooter
                     ? kFooterPayloadBytes
                     : header_.largest_block_payload;
  if (bh->payload_bytes > limit || (bh->section == Section::kFooter &&
                                    bh->payload_bytes != kFooterPayloadBytes)) {
    return Corrupt(block_offset + 4,
                   absl::StrCat(name, " block of ", bh->payload_bytes,
                                " bytes; at most ", limit, " allowed"));
  }
  if (offset_ + bh->payload_bytes > header_.file_bytes) {
    return Corrupt(block_offset + 4,
                   absl::StrCat(name, " block of ", bh->payload_bytes,
                                " bytes runs past the end of the file"));
  }
  const uint64_t payload_offset = offset_;
  uint8_t* payload = buffer_.get();
  if (absl::Status s = ReadExactly(payload, bh->payload_bytes, "block");
      !s.ok()) {
    return s;
  }
  uint32_t crc = ExtendCrc32c(Crc32c(head, 12), payload, bh->payload_bytes);
  if (crc != bh->crc) {
    return Corrupt(block_offset,
                   absl::StrCat(name, " block: CRC32C mismatch (stored ",
                                bh->crc, ", computed ", crc, ")"));
  }
  last_section_ = bh->section;
  section_bytes_[static_cast<size_t>(bh->section)] +=
      kBlockHeaderBytes + bh->payload_bytes;
  if (bh->section == Section::kFooter) {
    if (absl::Status s = CheckFooter(payload, payload_offset); !s.ok()) {
      return s;
    }
    done_ = true;
  } else {
    chain_crc_ = ExtendCrc32c(chain_crc_, head, kBlockHeaderBytes);
    ++data_blocks_;
  }
  return Block{bh->section,
               bh->record_count,
               {payload, bh->payload_bytes},
               payload_offset};
}

absl::Status BlockReader::CheckFooter(const uint8_t* payload, uint64_t offset) {
  absl::StatusOr<Footer> f = DecodeFooter(payload, offset);
  if (!f.ok()) {
    return absl::DataLossError(absl::StrCat(path_, ": ", f.status().message()));
  }
  if (offset_ != header_.file_bytes) {
    return Corrupt(offset_, "bytes follow the footer");
  }
  if (f->block_count != data_blocks_) {
    return Corrupt(offset + 32, absl::StrCat("footer: ", f->block_count,
                                             " data blocks recorded, ",
                                             data_blocks_, " read"));
  }
  if (f->chain_crc != chain_crc_) {
    return Corrupt(offset + 40,
                   absl::StrCat("footer: chain checksum mismatch (stored ",
                                f->chain_crc, ", computed ", chain_crc_, ")"));
  }
  footer_ = *f;
  return absl::OkStatus();
}

}  // namespace keel::snapshot::snapshot_internal
