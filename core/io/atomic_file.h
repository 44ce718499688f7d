// AtomicFile: writes a file so that PATH always holds a complete version.
//
// Bytes go to PATH.tmp in the same directory, preallocated to the exact size
// up front (posix_fallocate: a full disk fails before anything is written).
// Commit() checks the size, fsyncs, keeps the previous versions as PATH.1 ..
// PATH.<keep-1>, renames PATH.tmp to PATH and fsyncs the directory. A crash
// or an error at any point leaves PATH as it was or as it is now, whole.
//
//   auto file = AtomicFile::Create("/data/series.snap", size);
//   if (!file.ok()) return file.status();
//   RETURN_IF_ERROR(file->Append(bytes, n));   // ... until `size` bytes
//   RETURN_IF_ERROR(file->Commit(/*keep=*/2));
//
// One writer per PATH at a time (PATH.tmp is shared; a PATH.tmp left by a
// writer that died is removed by the next). Dropping an uncommitted
// AtomicFile removes PATH.tmp. Errors from the system are ErrnoStatus's
// (errno_status.h): a full disk is ResourceExhausted.
//
// The primitive under every file keel writes whole: range table images
// (RangeTable::save) and series snapshots (snapshot/writer.h).
// Thread safety: none; one thread uses an AtomicFile.
#ifndef KEEL_CORE_IO_ATOMIC_FILE_H_
#define KEEL_CORE_IO_ATOMIC_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::core {

class AtomicFile {
 public:
  // REQUIRES: bytes > 0.
  static absl::StatusOr<AtomicFile> Create(std::string path, uint64_t bytes);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  // Appends n bytes; more than the size given to Create is an error.
  absl::Status Append(const uint8_t* data, size_t n);
  // REQUIRES: exactly the planned bytes appended; keep >= 1.
  absl::Status Commit(int keep);

  uint64_t written() const { return written_; }

 private:
  AtomicFile(std::string path, int fd, uint64_t bytes)
      : path_(std::move(path)), fd_(fd), planned_(bytes) {}

  std::string path_;
  int fd_ = -1;
  uint64_t planned_ = 0;
  uint64_t written_ = 0;
};

// For tests of a crash between the two steps of Commit: `hook` (nullptr
// for none, the default) runs in every Commit after PATH.tmp is complete
// and fsynced and before it is renamed over PATH, given PATH.tmp's name.
// The hook is process-wide; set it only where no other AtomicFile commits.
void SetBeforeRenameHookForTesting(void (*hook)(const std::string& temp));

// The directory part of `path` ("." when it has none).
std::string DirectoryOf(const std::string& path);

}  // namespace keel::core

#endif  // KEEL_CORE_IO_ATOMIC_FILE_H_
