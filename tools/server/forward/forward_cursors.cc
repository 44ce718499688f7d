#include "tools/server/forward/forward_cursors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/io/atomic_file.h"
#include "core/io/crc32c.h"
#include "core/io/errno_status.h"
#include "core/io/little_endian.h"
#include "tools/server/event_log.h"

namespace keel::tools {
namespace {

constexpr char kMagic[8] = {'K', 'E', 'E', 'L', 'F', 'W', 'C', '1'};
constexpr size_t kHeaderBytes = 16;  // magic, shard count, CRC32C
constexpr size_t kSlotBytes = 16;    // record, entry, CRC32C

void PutSlot(uint8_t* slot, ForwardPosition p) {
  core::PutU64(slot, p.record);
  core::PutU32(slot + 8, p.entry);
  core::PutU32(slot + 12, core::Crc32c(slot, 12));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ForwardCursors>> ForwardCursors::Open(
    std::string path, uint32_t shards, ForwardPosition initial) {
  std::vector<ForwardPosition> positions(shards, initial);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return core::ErrnoStatus(errno, path, "open");
  if (fd >= 0) {
    uint8_t header[kHeaderBytes];
    const bool whole = ::pread(fd, header, sizeof(header), 0) ==
                           static_cast<ssize_t>(sizeof(header)) &&
                       std::memcmp(header, kMagic, 8) == 0 &&
                       core::Crc32c(header, 12) == core::GetU32(header + 12);
    const uint32_t held = whole ? core::GetU32(header + 8) : 0;
    std::vector<ForwardPosition> read;
    for (uint32_t i = 0; i < held && i < 1024; ++i) {
      uint8_t slot[kSlotBytes];
      if (::pread(fd, slot, sizeof(slot),
                  static_cast<off_t>(kHeaderBytes + i * kSlotBytes)) ==
              static_cast<ssize_t>(sizeof(slot)) &&
          core::Crc32c(slot, 12) == core::GetU32(slot + 12)) {
        read.push_back({core::GetU64(slot), core::GetU32(slot + 8)});
      }
    }
    ::close(fd);
    fd = -1;
    if (read.empty()) {
      LogEvent(absl::StrCat("remote-write: ", path,
                            " holds no whole position; starting at the queue's "
                            "first record (samples may be sent again)"));
      positions.assign(shards, ForwardPosition{0, 0});
    } else if (held == shards && read.size() == shards) {
      positions = read;
    } else {
      ForwardPosition least = *std::min_element(
          read.begin(), read.end(), [](const auto& a, const auto& b) {
            return a.record < b.record ||
                   (a.record == b.record && a.entry < b.entry);
          });
      least.entry = 0;  // entries of another partition: the whole record
      LogEvent(absl::StrCat("remote-write: ", path, " holds ", read.size(),
                            " whole positions of ", held, " shards, now ",
                            shards, "; every shard resumes at log position ",
                            least.record, " (samples may be sent again)"));
      positions.assign(shards, least);
    }
  }
  // Rewritten whole at every start: the shard count is the current one.
  const size_t bytes = kHeaderBytes + shards * kSlotBytes;
  std::vector<uint8_t> image(bytes);
  std::memcpy(image.data(), kMagic, 8);
  core::PutU32(image.data() + 8, shards);
  core::PutU32(image.data() + 12, core::Crc32c(image.data(), 12));
  for (uint32_t i = 0; i < shards; ++i) {
    PutSlot(image.data() + kHeaderBytes + i * kSlotBytes, positions[i]);
  }
  auto file = core::AtomicFile::Create(path, bytes);
  if (!file.ok()) return file.status();
  if (absl::Status s = file->Append(image.data(), bytes); !s.ok()) return s;
  if (absl::Status s = file->Commit(1); !s.ok()) return s;
  fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return core::ErrnoStatus(errno, path, "open");
  return std::unique_ptr<ForwardCursors>(
      new ForwardCursors(std::move(path), fd, std::move(positions)));
}

ForwardCursors::~ForwardCursors() { ::close(fd_); }

absl::Status ForwardCursors::Set(uint32_t shard, ForwardPosition position) {
  uint8_t slot[kSlotBytes];
  PutSlot(slot, position);
  const off_t offset = static_cast<off_t>(kHeaderBytes + shard * kSlotBytes);
  ssize_t n;
  do {
    n = ::pwrite(fd_, slot, sizeof(slot), offset);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof(slot))) {
    return core::ErrnoStatus(n < 0 ? errno : EIO, path_, "write");
  }
  positions_[shard] = position;
  return absl::OkStatus();
}

}  // namespace keel::tools
