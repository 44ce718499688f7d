#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/io/errno_status.h"

namespace keel::core {
namespace {

std::atomic<void (*)(const std::string&)> before_rename_hook{nullptr};

std::string TempPath(const std::string& path) { return path + ".tmp"; }

absl::Status FsyncDirectory(const std::string& path) {
  std::string dir = DirectoryOf(path);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, dir, "open directory");
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, dir, "fsync directory");
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
      return ErrnoStatus(errno, from, "rename to " + to);
    }
  }
  std::string previous = path + ".1";
  std::string staging = previous + ".tmp";
  ::unlink(staging.c_str());
  if (::link(path.c_str(), staging.c_str()) != 0) {
    return ErrnoStatus(errno, path, "link to " + staging);
  }
  if (::rename(staging.c_str(), previous.c_str()) != 0) {
    return ErrnoStatus(errno, staging, "rename to " + previous);
  }
  return absl::OkStatus();
}

}  // namespace

void SetBeforeRenameHookForTesting(void (*hook)(const std::string& temp)) {
  before_rename_hook.store(hook, std::memory_order_release);
}

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
  if (fd < 0) return ErrnoStatus(errno, temp, "create");
  AtomicFile file(std::move(path), fd, bytes);
  if (int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)); rc != 0) {
    return ErrnoStatus(rc, temp, absl::StrCat("preallocate ", bytes, " bytes"));
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
        absl::StrCat(TempPath(path_), ": write: ", written_ + n,
                     " bytes exceed the planned size ", planned_));
  }
  while (n > 0) {
    ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, TempPath(path_),
                         absl::StrCat("write at offset ", written_));
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
    return absl::InternalError(absl::StrCat(temp, ": commit: wrote ", written_,
                                            " bytes, planned ", planned_));
  }
  if (::fsync(fd_) != 0) return ErrnoStatus(errno, temp, "fsync");
  if (::close(std::exchange(fd_, -1)) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return ErrnoStatus(err, temp, "close");
  }
  if (absl::Status s = KeepPrevious(path_, keep); !s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  if (auto* hook = before_rename_hook.load(std::memory_order_acquire)) {
    hook(temp);
  }
  if (::rename(temp.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return ErrnoStatus(err, temp, "rename to " + path_);
  }
  return FsyncDirectory(path_);
}

}  // namespace keel::core
