#include "keel/snapshot/internal/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace keel::snapshot::snapshot_internal {
namespace {

[[gnu::cold]] absl::Status ErrnoError(const std::string& what,
                                      const std::string& path, int err) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

std::string TempPath(const std::string& path) { return path + ".tmp"; }

absl::Status FsyncDirectory(const std::string& path) {
  std::string dir = DirectoryOf(path);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync directory", dir, err);
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// PATH.(keep-1) <- ... <- PATH.1 <- PATH, leaving PATH in place: PATH.1
// becomes a second name of the current PATH (link, then rename over).
absl::Status KeepPrevious(const std::string& path, int keep) {
  if (keep < 2 || !Exists(path)) return absl::OkStatus();
  for (int i = keep - 1; i >= 2; --i) {
    std::string from = absl::StrCat(path, ".", i - 1);
    std::string to = absl::StrCat(path, ".", i);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("rename to " + to, from, errno);
    }
  }
  std::string previous = path + ".1";
  std::string staging = previous + ".tmp";
  ::unlink(staging.c_str());
  if (::link(path.c_str(), staging.c_str()) != 0) {
    return ErrnoError("link to " + staging, path, errno);
  }
  if (::rename(staging.c_str(), previous.c_str()) != 0) {
    return ErrnoError("rename to " + previous, staging, errno);
  }
  return absl::OkStatus();
}

}  // namespace

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::StatusOr<AtomicFile> AtomicFile::Create(std::string path,
                                              uint64_t bytes) {
  std::string temp = TempPath(path);
  // A stale temporary file goes first, whatever it is: opening a FIFO left
  // there for writing would wait for a reader. O_EXCL then refuses anything
  // that could not be removed, a directory say, instead of writing into it.
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", temp, errno);
  AtomicFile file(std::move(path), fd, bytes);
  if (int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)); rc != 0) {
    return ErrnoError(absl::StrCat("preallocate ", bytes, " bytes for"), temp,
                      rc);
  }
  return file;
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      planned_(other.planned_),
      written_(other.written_) {}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(TempPath(path_).c_str());
  }
}

absl::Status AtomicFile::Append(const uint8_t* data, size_t n) {
  if (written_ + n > planned_) {
    return absl::InternalError(
        absl::StrCat("write ", TempPath(path_), ": ", written_ + n,
                     " bytes exceed the planned size ", planned_));
  }
  while (n > 0) {
    ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(absl::StrCat("write at offset ", written_),
                        TempPath(path_), errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
    written_ += static_cast<uint64_t>(w);
  }
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit(int keep) {
  std::string temp = TempPath(path_);
  if (written_ != planned_) {
    return absl::InternalError(absl::StrCat(
        "write ", temp, ": wrote ", written_, " bytes, planned ", planned_));
  }
  if (::fsync(fd_) != 0) return ErrnoError("fsync", temp, errno);
  if (::close(std::exchange(fd_, -1)) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return ErrnoError("close", temp, err);
  }
  if (absl::Status s = KeepPrevious(path_, keep); !s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  if (::rename(temp.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return ErrnoError("rename to " + path_, temp, err);
  }
  return FsyncDirectory(path_);
}

}  // namespace keel::snapshot::snapshot_internal
