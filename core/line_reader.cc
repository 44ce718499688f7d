#include "keel/core/line_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace keel::core {
namespace core_internal {

// Where a LineReader's bytes come from: the file itself or zlib's gzip
// stream over it.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes; returns the count (0 at the end) or -1 with
  // *error set.
  virtual long Read(char* data, size_t size, std::string* error) = 0;
};

namespace {

class PlainSource final : public ByteSource {
 public:
  explicit PlainSource(int fd) : fd_(fd) {}
  ~PlainSource() override { close(fd_); }

  long Read(char* data, size_t size, std::string* error) override {
    for (;;) {
      ssize_t n = read(fd_, data, size);
      if (n >= 0) return static_cast<long>(n);
      if (errno == EINTR) continue;
      *error = std::strerror(errno);
      return -1;
    }
  }

 private:
  int fd_;
};

class GzipSource final : public ByteSource {
 public:
  explicit GzipSource(gzFile file) : file_(file) {}
  ~GzipSource() override { gzclose(file_); }

  long Read(char* data, size_t size, std::string* error) override {
    int n = gzread(file_, data, static_cast<unsigned>(size));
    if (n > 0) return n;
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    // zlib reports a stream cut short only through gzerror, as Z_BUF_ERROR.
    if (n == 0 && code == Z_OK) return 0;
    *error = code == Z_ERRNO ? std::strerror(errno)
                             : absl::StrCat("gzip data: ", message);
    return -1;
  }

 private:
  gzFile file_;
};

}  // namespace
}  // namespace core_internal

namespace {

constexpr size_t kChunkBytes = 1 << 20;

[[gnu::cold]] absl::Status OpenError(std::string_view path, int error) {
  return absl::NotFoundError(absl::StrCat(
      absl::string_view(path.data(), path.size()), ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<LineReader> LineReader::Open(std::string_view path) {
  std::string name(path);
  int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(path, errno);
  unsigned char magic[2] = {0, 0};
  ssize_t got = pread(fd, magic, 2, 0);
  if (got < 0) {
    int error = errno;
    close(fd);
    return OpenError(path, error);
  }
  bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  std::unique_ptr<core_internal::ByteSource> source;
  if (gzip) {
    gzFile file = gzdopen(fd, "rb");
    if (file == nullptr) {
      close(fd);
      return absl::ResourceExhaustedError(
          absl::StrCat(name, ": cannot start gzip decompression"));
    }
    gzbuffer(file, 256 << 10);
    source = std::make_unique<core_internal::GzipSource>(file);
  } else {
    source = std::make_unique<core_internal::PlainSource>(fd);
  }
  return LineReader(std::move(name), gzip, std::move(source));
}

LineReader::LineReader(std::string path, bool gzip,
                       std::unique_ptr<core_internal::ByteSource> source)
    : path_(std::move(path)),
      gzip_(gzip),
      source_(std::move(source)),
      buffer_(new char[kChunkBytes]),
      capacity_(kChunkBytes) {}

LineReader::LineReader(LineReader&&) noexcept = default;
LineReader& LineReader::operator=(LineReader&&) noexcept = default;
LineReader::~LineReader() = default;

bool LineReader::Next(std::string_view* line) {
  for (;;) {
    char* start = buffer_.get() + begin_;
    size_t available = end_ - begin_;
    auto* newline = static_cast<char*>(std::memchr(start, '\n', available));
    size_t length;
    if (newline != nullptr) {
      length = static_cast<size_t>(newline - start);
      begin_ += length + 1;
    } else if (eof_ && available > 0) {
      length = available;  // the last line has no "\n"
      begin_ = end_;
    } else {
      if (eof_ || !Fill()) return false;
      continue;
    }
    if (length > 0 && start[length - 1] == '\r') --length;
    ++line_number_;
    *line = std::string_view(start, length);
    return true;
  }
}

bool LineReader::Fill() {
  if (!status_.ok()) return false;
  size_t unread = end_ - begin_;
  if (unread >= kMaxLineBytes) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat(path_, ":", line_number_ + 1, ": line longer than ",
                     kMaxLineBytes, " bytes"));
    return false;
  }
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, unread);
    begin_ = 0;
    end_ = unread;
  }
  if (end_ == capacity_) {
    size_t capacity = capacity_ * 2;
    std::unique_ptr<char[]> bigger(new char[capacity]);
    std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    capacity_ = capacity;
  }
  std::string error;
  long n = source_->Read(buffer_.get() + end_, capacity_ - end_, &error);
  if (n < 0) {
    status_ = absl::DataLossError(absl::StrCat(
        path_, ": read failed after line ", line_number_, ": ", error));
    return false;
  }
  if (n == 0) eof_ = true;
  end_ += static_cast<size_t>(n);
  return true;
}

}  // namespace keel::core
