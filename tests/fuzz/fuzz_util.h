// Helpers shared by the libFuzzer targets in tests/fuzz.
//
// FUZZ_CHECK(cond) << ...: an invariant a target asserts about what a parser
// accepted (a round trip, a bound). A failure prints the message and aborts,
// which libFuzzer reports as a crash with the input saved.
//
// MemFile: the input as a file, for readers that only open paths (the feed
// loaders, the image, snapshot and config readers). It is a memfd, a regular
// file that lives in memory and disappears with its descriptor, so runs
// leave nothing on disk; path() is "/proc/self/fd/N".
//
// Thread safety: none; libFuzzer runs one input at a time.
#ifndef KEEL_TESTS_FUZZ_FUZZ_UTIL_H_
#define KEEL_TESTS_FUZZ_FUZZ_UTIL_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

namespace keel::fuzz {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    message_ << file << ":" << line << ": FUZZ_CHECK(" << condition
             << ") failed: ";
  }
  ~CheckFailure() {
    std::fprintf(stderr, "%s\n", message_.str().c_str());
    std::abort();
  }
  template <class T>
  CheckFailure& operator<<(const T& value) {
    message_ << value;
    return *this;
  }

 private:
  std::ostringstream message_;
};

// Makes `cond ? (void)0 : failure << ...` one void expression, so that
// FUZZ_CHECK is safe under an unbraced if.
struct Voidify {
  void operator&(const CheckFailure&) {}
};

#define FUZZ_CHECK(condition)             \
  (condition) ? (void)0                   \
              : ::keel::fuzz::Voidify() & \
                    ::keel::fuzz::CheckFailure(__FILE__, __LINE__, #condition)

class MemFile {
 public:
  explicit MemFile(std::string_view bytes) {
    fd_ = memfd_create("keel-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    const char* p = bytes.data();
    size_t left = bytes.size();
    while (left > 0) {
      ssize_t n = write(fd_, p, left);
      if (n <= 0) {
        std::perror("write memfd");
        std::abort();
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  ~MemFile() { close(fd_); }

  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace keel::fuzz

#endif  // KEEL_TESTS_FUZZ_FUZZ_UTIL_H_
