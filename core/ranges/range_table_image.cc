// RangeTable::Save and RangeTable::OpenImage: the image file.
//
// File: an ImageHeader, zero padding to kDataOffset, then the table's block
// exactly as range_format.h lays it out. The header carries the counts, each
// section's place and CRC32C, and a CRC32C of itself; every one is checked
// at open, before a lookup can read anything. Save() writes through
// AtomicFile: the new image is complete and fsynced before it replaces the
// old one.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/io/atomic_file.h"
#include "core/io/crc32c.h"
#include "core/io/errno_status.h"
#include "core/ranges/internal/range_format.h"
#include "core/ranges/internal/range_storage.h"
#include "core/ranges/range_table.h"

namespace keel::core {
namespace {

namespace ci = core_internal;

// Unmaps the pages of [data, data + bytes) from the process; they stay in
// the page cache and map back in when a lookup touches them.
void DropPages(const void* data, size_t bytes) {
  auto p = reinterpret_cast<uintptr_t>(data);
  uintptr_t begin = p & ~uintptr_t{4095};
  madvise(reinterpret_cast<void*>(begin), p + bytes - begin, MADV_DONTNEED);
}

// 2: IPv4 record indices past 16 bits in an overflow list (was a high-bits
// array), a bitmap of all-gap buckets, AS numbers in their own array.
// 3: CRC32C checksums (32-bit fields) instead of a 64-bit hash of keel's own.
constexpr uint32_t kVersion = 3;
constexpr uint32_t kByteOrderMark = 0x01020304;
constexpr uint64_t kDataOffset = 4096;

struct ImageHeader {
  char magic[8];
  uint32_t version;
  uint32_t byte_order;  // kByteOrderMark as the writer's CPU stores it
  uint64_t header_bytes;
  uint64_t data_offset;
  uint64_t file_bytes;
  ci::RangeCounts counts;
  ci::SectionPlace sections[ci::kRangeSectionCount];
  uint32_t section_checksums[ci::kRangeSectionCount];  // CRC32C
  uint32_t header_checksum;  // of the whole header page, this field zero
};
static_assert(sizeof(ImageHeader) < kDataOffset);
// No padding the compiler might leave uninitialized in what is written.
static_assert(sizeof(ImageHeader) ==
              offsetof(ImageHeader, header_checksum) + sizeof(uint32_t));

constexpr const char* kSectionNames[ci::kRangeSectionCount] = {
    "v4_buckets",  "v4_gap_buckets", "v4_tops", "v4_rows",    "v4_overflow",
    "v6_top",      "v6_mid",         "v6_keys", "v6_records", "v6_exceptions",
    "record_asns", "records",        "names"};

[[gnu::cold, gnu::noinline]] absl::Status Refuse(std::string_view path,
                                                 std::string_view why) {
  return absl::DataLossError(
      absl::StrCat(absl::string_view(path.data(), path.size()),
                   ": not a usable range "
                   "table image: ",
                   absl::string_view(why.data(), why.size())));
}

// The checksum of the header page (kDataOffset bytes, padding included, so
// that no byte before the data goes unchecked).
uint32_t HeaderChecksum(const uint8_t* page) {
  constexpr size_t kAt = offsetof(ImageHeader, header_checksum);
  constexpr uint32_t kZero = 0;
  uint32_t crc = Crc32c(page, kAt);
  crc = ExtendCrc32c(crc, &kZero, sizeof(kZero));
  return ExtendCrc32c(crc, page + kAt + sizeof(kZero),
                      kDataOffset - kAt - sizeof(kZero));
}

// Reads exactly `bytes` at `offset`; a file that ends sooner (it shrank
// since it was measured) is refused.
absl::Status ReadAll(int fd, void* data, size_t bytes, uint64_t offset,
                     std::string_view path) {
  auto* p = static_cast<uint8_t*>(data);
  while (bytes > 0) {
    ssize_t n = pread(fd, p, bytes, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path, absl::StrCat("read at ", offset));
    }
    if (n == 0) {
      return Refuse(path, absl::StrCat("file ended at byte ", offset,
                                       " while being read (changed?)"));
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Checks the header (the file's first page) against the file's size.
absl::Status CheckHeader(const uint8_t* page, uint64_t file_bytes,
                         std::string_view path) {
  ImageHeader h;
  std::memcpy(&h, page, sizeof(h));
  if (std::memcmp(h.magic, ci::kImageMagic, sizeof(ci::kImageMagic)) != 0) {
    return Refuse(path,
                  "wrong magic bytes (not written by keel table compile)");
  }
  if (h.byte_order != kByteOrderMark) {
    return Refuse(path, "written on a machine of the other byte order");
  }
  if (h.version != kVersion) {
    return Refuse(path, absl::StrCat("format version ", h.version,
                                     ", this build reads ", kVersion));
  }
  if (h.header_checksum != HeaderChecksum(page)) {
    return Refuse(path, "header checksum mismatch");
  }
  if (h.header_bytes != sizeof(ImageHeader) || h.data_offset != kDataOffset) {
    return Refuse(path, "header size or data offset unknown to this build");
  }
  if (h.file_bytes != file_bytes) {
    return Refuse(
        path, absl::StrCat("file has ", file_bytes, " bytes, its header says ",
                           h.file_bytes,
                           file_bytes < h.file_bytes ? " (truncated)" : ""));
  }
  std::string what(path);
  if (auto s = ci::CheckCounts(h.counts, what); !s.ok()) return s;
  ci::SectionPlace places[ci::kRangeSectionCount];
  size_t block_bytes = ci::PlaceSections(h.counts, places);
  if (block_bytes != file_bytes - kDataOffset) {
    return Refuse(path, "sections do not fill the file");
  }
  for (int s = 0; s < ci::kRangeSectionCount; ++s) {
    if (h.sections[s].offset != places[s].offset ||
        h.sections[s].bytes != places[s].bytes) {
      return Refuse(path, absl::StrCat("section ", kSectionNames[s],
                                       " is not where its counts put it"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RangeTable::Save(std::string_view path) const {
  const auto* block = reinterpret_cast<const uint8_t*>(view_.v4_buckets);
  ImageHeader h{};
  std::memcpy(h.magic, ci::kImageMagic, sizeof(ci::kImageMagic));
  h.version = kVersion;
  h.byte_order = kByteOrderMark;
  h.header_bytes = sizeof(ImageHeader);
  h.data_offset = kDataOffset;
  h.counts = view_.counts;
  size_t block_bytes = ci::PlaceSections(view_.counts, h.sections);
  h.file_bytes = kDataOffset + block_bytes;
  for (int s = 0; s < ci::kRangeSectionCount; ++s) {
    h.section_checksums[s] =
        Crc32c(block + h.sections[s].offset, h.sections[s].bytes);
  }
  uint8_t head[kDataOffset] = {};
  std::memcpy(head, &h, sizeof(h));
  h.header_checksum = HeaderChecksum(head);
  std::memcpy(head, &h, sizeof(h));

  auto file = AtomicFile::Create(std::string(path), h.file_bytes);
  if (!file.ok()) return file.status();
  if (auto s = file->Append(head, kDataOffset); !s.ok()) return s;
  if (auto s = file->Append(block, block_bytes); !s.ok()) return s;
  return file->Commit(/*keep=*/1);
}

absl::StatusOr<RangeTable> RangeTable::OpenImage(std::string_view path,
                                                 ImageHolding holding) {
  std::string name(path);
  int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path, "open");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int error = errno;
    close(fd);
    return ErrnoStatus(error, path, "stat");
  }
  auto file_bytes = static_cast<uint64_t>(st.st_size);
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Refuse(path, "not a regular file");
  }
  if (file_bytes < kDataOffset) {
    close(fd);
    return Refuse(path, absl::StrCat("file has ", file_bytes,
                                     " bytes, less than a header"));
  }
  const bool mapped = holding == ImageHolding::kMapped;
  std::unique_ptr<ci::RangeStorage> storage;
  ImageHeader h;
  const uint8_t* block = nullptr;
  if (mapped) {
    void* address = mmap(nullptr, file_bytes, PROT_READ, MAP_SHARED, fd, 0);
    int error = errno;
    close(fd);
    if (address == MAP_FAILED) return ErrnoStatus(error, path, "mmap");
    storage = ci::AdoptMapping(address, file_bytes);
    const auto* base = static_cast<const uint8_t*>(address);
    if (auto s = CheckHeader(base, file_bytes, path); !s.ok()) return s;
    std::memcpy(&h, base, sizeof(h));
    block = base + kDataOffset;
  } else {
    // The copy is checked, not the file: whatever happens to the file while
    // it is read shows as a short read or a checksum mismatch.
    auto page = std::make_unique<uint8_t[]>(kDataOffset);
    absl::Status status = ReadAll(fd, page.get(), kDataOffset, 0, path);
    if (status.ok()) status = CheckHeader(page.get(), file_bytes, path);
    uint8_t* copy = nullptr;
    if (status.ok()) {
      std::memcpy(&h, page.get(), sizeof(h));
      try {
        storage = ci::AllocateRangeBlock(file_bytes - kDataOffset, &copy);
      } catch (const std::bad_alloc&) {
        status = absl::ResourceExhaustedError(absl::StrCat(
            name, ": no memory for a copy of ", file_bytes, " bytes"));
      }
    }
    if (status.ok()) {
      status = ReadAll(fd, copy, file_bytes - kDataOffset, kDataOffset, path);
    }
    close(fd);
    if (!status.ok()) return status;
    block = copy;
  }
  // A mapping's pages are dropped from the process once checked (they stay
  // in the page cache), so that opening never holds the whole file: a
  // command answering a few addresses stays small, and lookups map back in
  // only what they touch.
  auto drop = mapped ? DropPages : nullptr;
  for (int s = 0; s < ci::kRangeSectionCount; ++s) {
    const uint8_t* section = block + h.sections[s].offset;
    if (Crc32c(section, h.sections[s].bytes) != h.section_checksums[s]) {
      return Refuse(path, absl::StrCat("checksum mismatch in section ",
                                       kSectionNames[s]));
    }
    if (drop != nullptr) drop(section, h.sections[s].bytes);
  }
  ci::RangeView view;
  if (auto s = ci::ViewBlock(block, file_bytes - kDataOffset, h.counts, name,
                             &view, drop);
      !s.ok()) {
    return s;
  }
  if (drop != nullptr) drop(block, file_bytes - kDataOffset);
  size_t table_bytes = mapped ? file_bytes : storage->bytes();
  return RangeTable(std::move(storage), view, table_bytes);
}

}  // namespace keel::core
