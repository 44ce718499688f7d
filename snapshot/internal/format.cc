#include "snapshot/internal/format.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/io/crc32c.h"
#include "core/io/little_endian.h"

namespace keel::snapshot::snapshot_internal {
using core::GetI64;
using core::GetU32;
using core::GetU64;
using core::PutI64;
using core::PutU32;
using core::PutU64;

using core::Crc32c;
using core::ExtendCrc32c;

const char* SectionName(Section s) {
  switch (s) {
    case Section::kStrings:
      return "strings";
    case Section::kSeries:
      return "series";
    case Section::kChunks:
      return "chunks";
    case Section::kFooter:
      return "footer";
    case Section::kFrames:
      return "frames";
  }
  return "unknown";
}

int SectionRank(Section s) {
  return s == Section::kFrames   ? 3
         : s >= Section::kChunks ? static_cast<int>(s) + 1
                                 : static_cast<int>(s);
}

void EncodeHeader(const Header& h, uint8_t* out) {
  std::memcpy(out, kMagic, 8);
  PutU32(out + 8, h.version);
  PutU32(out + 12, h.flags);
  PutI64(out + 16, h.created_unix_ms);
  PutU64(out + 24, h.string_count);
  PutU64(out + 32, h.series_count);
  PutU64(out + 40, h.chunk_count);
  PutU64(out + 48, h.file_bytes);
  PutU32(out + 56, h.largest_block_payload);
  PutU32(out + 60, Crc32c(out, 60));
}

absl::StatusOr<Header> DecodeHeader(const uint8_t* in) {
  if (std::memcmp(in, kMagic, 8) != 0) {
    return absl::DataLossError(
        "offset 0: header: bad magic, not a keel snapshot");
  }
  Header h;
  h.version = GetU32(in + 8);
  if (h.version > kVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("offset 8: header: snapshot version ", h.version,
                     " is newer than this keel reads (", kVersion, ")"));
  }
  if (h.version < kOldestVersion) {
    return absl::DataLossError(
        absl::StrCat("offset 8: header: unknown snapshot version ", h.version));
  }
  if (uint32_t crc = Crc32c(in, 60); crc != GetU32(in + 60)) {
    return absl::DataLossError(
        absl::StrCat("offset 60: header: CRC32C mismatch (stored ",
                     GetU32(in + 60), ", computed ", crc, ")"));
  }
  h.flags = GetU32(in + 12);
  if ((h.flags & ~kFlagRandomOrder) != 0) {
    return absl::DataLossError(
        absl::StrCat("offset 12: header: unknown flags ", h.flags));
  }
  h.created_unix_ms = GetI64(in + 16);
  h.string_count = GetU64(in + 24);
  h.series_count = GetU64(in + 32);
  h.chunk_count = GetU64(in + 40);
  h.file_bytes = GetU64(in + 48);
  h.largest_block_payload = GetU32(in + 56);
  return h;
}

void EncodeFooter(const Footer& f, uint8_t* out) {
  PutU64(out, f.sample_count);
  PutU64(out + 8, f.chunk_bytes);
  PutI64(out + 16, f.min_time);
  PutI64(out + 24, f.max_time);
  PutU64(out + 32, f.block_count);
  PutU32(out + 40, f.chain_crc);
  PutU32(out + 44, 0);
}

absl::StatusOr<Footer> DecodeFooter(const uint8_t* in, uint64_t offset) {
  if (GetU32(in + 44) != 0) {
    return absl::DataLossError(absl::StrCat(
        "offset ", offset + 44, ": footer: reserved field is not zero"));
  }
  Footer f;
  f.sample_count = GetU64(in);
  f.chunk_bytes = GetU64(in + 8);
  f.min_time = GetI64(in + 16);
  f.max_time = GetI64(in + 24);
  f.block_count = GetU64(in + 32);
  f.chain_crc = GetU32(in + 40);
  return f;
}

void EncodeBlockHeader(Section section, uint32_t record_count,
                       const uint8_t* payload, uint32_t payload_bytes,
                       uint8_t* out) {
  out[0] = static_cast<uint8_t>(section);
  out[1] = out[2] = out[3] = 0;
  PutU32(out + 4, payload_bytes);
  PutU32(out + 8, record_count);
  uint32_t crc = Crc32c(out, 12);
  PutU32(out + 12, ExtendCrc32c(crc, payload, payload_bytes));
}

absl::StatusOr<BlockHeader> DecodeBlockHeader(const uint8_t* in,
                                              uint64_t offset) {
  if (in[0] < static_cast<uint8_t>(Section::kStrings) ||
      in[0] > static_cast<uint8_t>(Section::kFrames)) {
    return absl::DataLossError(absl::StrCat(
        "offset ", offset, ": block header: unknown section ", in[0]));
  }
  if (in[1] != 0 || in[2] != 0 || in[3] != 0) {
    return absl::DataLossError(absl::StrCat(
        "offset ", offset + 1, ": block header: reserved bytes are not zero"));
  }
  BlockHeader b;
  b.section = static_cast<Section>(in[0]);
  b.payload_bytes = GetU32(in + 4);
  b.record_count = GetU32(in + 8);
  b.crc = GetU32(in + 12);
  return b;
}

}  // namespace keel::snapshot::snapshot_internal
