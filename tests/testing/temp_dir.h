// Files for tests: TempDir, a fresh directory under /tmp that is removed
// with everything in it when the object goes, and whole-file reads and
// writes.
//
//   TempDir dir("snapshot_test");            // /tmp/keel_snapshot_test_XXXXXX
//   std::string path = dir.Write("a.tsv", "1.0.0.0\t...\n");
//   REQUIRE(ReadFile(path) == "1.0.0.0\t...\n");
#ifndef KEEL_TESTS_TESTING_TEMP_DIR_H_
#define KEEL_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace keel::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Replaces the file's contents with `bytes`. Unlinks first: ext4 flushes a
// file truncated and rewritten in place (auto_da_alloc), which would make
// the tests that rewrite a file thousands of times slow.
inline void WriteFile(const std::string& path, std::string_view bytes) {
  std::filesystem::remove(path);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

class TempDir {
 public:
  explicit TempDir(std::string_view tag) {
    std::string pattern = "/tmp/keel_" + std::string(tag) + "_XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` inside the directory.
  std::string File(std::string_view name) const {
    return path_ + "/" + std::string(name);
  }
  // Writes `bytes` to `name` inside the directory; returns its path.
  std::string Write(std::string_view name, std::string_view bytes) const {
    std::string path = File(name);
    WriteFile(path, bytes);
    return path;
  }

 private:
  std::string path_;
};

}  // namespace keel::testing

#endif  // KEEL_TESTS_TESTING_TEMP_DIR_H_
