#include "core/io/line_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/io/errno_status.h"

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

// The file's bytes, after the few Open read to tell gzip by.
class PlainSource final : public ByteSource {
 public:
  PlainSource(int fd, std::string head) : fd_(fd), head_(std::move(head)) {}
  ~PlainSource() override { close(fd_); }

  long Read(char* data, size_t size, std::string* error) override {
    if (!head_.empty()) {
      size_t n = std::min(size, head_.size());
      std::memcpy(data, head_.data(), n);
      head_.erase(0, n);
      return static_cast<long>(n);
    }
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
  std::string head_;
};

// zlib's inflate over the raw bytes rather than gzread, which needs a file
// it can rewind past the bytes Open read: a pipe cannot be.
class GzipSource final : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<ByteSource> raw)
      : raw_(std::move(raw)), in_(new unsigned char[kInBytes]) {}
  ~GzipSource() override {
    if (initialized_) inflateEnd(&z_);
  }

  // False when zlib cannot allocate its state.
  bool Init() {
    // 16 + MAX_WBITS: a gzip wrapper, its header and CRC checked.
    initialized_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
    return initialized_;
  }

  long Read(char* data, size_t size, std::string* error) override {
    z_.next_out = reinterpret_cast<Bytef*>(data);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(size, 1 << 30));
    const uInt wanted = z_.avail_out;
    while (z_.avail_out > 0) {
      if (z_.avail_in == 0) {
        // Hand over what is ready rather than wait on a pipe for more.
        if (raw_end_ || z_.avail_out < wanted) break;
        long n =
            raw_->Read(reinterpret_cast<char*>(in_.get()), kInBytes, error);
        if (n < 0) return -1;
        raw_end_ = n == 0;
        z_.next_in = in_.get();
        z_.avail_in = static_cast<uInt>(n);
        continue;
      }
      if (member_ended_) {
        // Concatenated members read as one stream; other bytes after a
        // member are ignored, as gzread ignores them.
        if (z_.next_in[0] != 0x1f) {
          z_.avail_in = 0;
          raw_end_ = true;
          break;
        }
        inflateReset(&z_);
        member_ended_ = false;
      }
      int code = inflate(&z_, Z_NO_FLUSH);
      if (code == Z_STREAM_END) {
        member_ended_ = true;
      } else if (code != Z_OK) {
        *error = absl::StrCat("gzip data: ",
                              z_.msg != nullptr ? z_.msg : zError(code));
        return -1;
      }
    }
    long produced = static_cast<long>(wanted - z_.avail_out);
    if (produced == 0 && !member_ended_) {
      *error = "gzip data: the stream ends inside a member (truncated?)";
      return -1;
    }
    return produced;
  }

 private:
  static constexpr size_t kInBytes = 256 << 10;

  std::unique_ptr<ByteSource> raw_;
  std::unique_ptr<unsigned char[]> in_;
  z_stream z_{};
  bool initialized_ = false;
  bool raw_end_ = false;
  bool member_ended_ = false;
};

}  // namespace
}  // namespace core_internal

absl::StatusOr<LineReader> LineReader::Open(std::string_view path,
                                            const Options& options) {
  std::string name(path);
  int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path, "open");
  return FromDescriptor(fd, std::move(name), options);
}

absl::StatusOr<LineReader> LineReader::FromDescriptor(int fd, std::string name,
                                                      const Options& options) {
  // Read, not pread: a pipe has no offset to read at.
  char magic[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof(magic)) {
    ssize_t n = read(fd, magic + got, sizeof(magic) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      close(fd);
      return ErrnoStatus(error, name, "read");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bool gzip = got == 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
              static_cast<unsigned char>(magic[1]) == 0x8b;
  std::unique_ptr<core_internal::ByteSource> source(new (
      std::nothrow) core_internal::PlainSource(fd, std::string(magic, got)));
  if (source == nullptr) {
    close(fd);
    return absl::ResourceExhaustedError(absl::StrCat(name, ": no memory"));
  }
  try {
    if (gzip) {
      auto inflater =
          std::make_unique<core_internal::GzipSource>(std::move(source));
      if (!inflater->Init()) {
        return absl::ResourceExhaustedError(
            absl::StrCat(name, ": cannot start gzip decompression"));
      }
      source = std::move(inflater);
    }
    LineReader reader(name, options, std::move(source));
    reader.gzip_ = gzip;
    return reader;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name, ": no memory for a read buffer"));
  }
}

LineReader::LineReader(std::string path, const Options& options,
                       std::unique_ptr<core_internal::ByteSource> source)
    : path_(std::move(path)),
      max_line_bytes_(options.max_line_bytes),
      source_(std::move(source)),
      buffer_(new char[std::max<size_t>(options.buffer_bytes, 1)]),
      capacity_(std::max<size_t>(options.buffer_bytes, 1)) {}

LineReader::LineReader(LineReader&&) noexcept = default;
LineReader& LineReader::operator=(LineReader&&) noexcept = default;
LineReader::~LineReader() = default;

bool LineReader::Next(std::string_view* line) {
  if (!status_.ok()) return false;
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
    if (length > max_line_bytes_) return LineTooLong();
    ++line_number_;
    *line = std::string_view(start, length);
    return true;
  }
}

bool LineReader::LineTooLong() {
  status_ = absl::InvalidArgumentError(absl::StrCat(
      path_, ":", line_number_ + 1, ": line longer than the limit of ",
      max_line_bytes_, " bytes"));
  return false;
}

bool LineReader::Fill() {
  if (!status_.ok()) return false;
  size_t unread = end_ - begin_;
  // A "\r" may still follow a line of the limit, before its "\n".
  if (unread > max_line_bytes_ + 1) return LineTooLong();
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, unread);
    begin_ = 0;
    end_ = unread;
  }
  if (end_ == capacity_) {
    size_t capacity = capacity_ * 2;
    std::unique_ptr<char[]> bigger(new (std::nothrow) char[capacity]);
    if (bigger == nullptr) {
      status_ = absl::ResourceExhaustedError(
          absl::StrCat(path_, ":", line_number_ + 1, ": no memory for ",
                       capacity, " bytes to read the line into"));
      return false;
    }
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
