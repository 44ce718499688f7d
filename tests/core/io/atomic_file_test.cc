#include "core/io/atomic_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/testing/temp_dir.h"

namespace keel::core {
namespace {

using testing::ReadFile;
using testing::TempDir;

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void WriteVersion(const std::string& path, const std::string& text, int keep) {
  auto file = AtomicFile::Create(path, text.size());
  REQUIRE(file.ok());
  REQUIRE(
      file->Append(reinterpret_cast<const uint8_t*>(text.data()), text.size())
          .ok());
  REQUIRE(file->Commit(keep).ok());
}

TEST_CASE("atomic file replaces the file and keeps the previous ones",
          "[atomic_file]") {
  TempDir temp("atomic_file_test");
  const std::string& dir = temp.path();
  std::string path = dir + "/snap";
  WriteVersion(path, "one", 3);
  CHECK(ReadFile(path) == "one");
  CHECK_FALSE(Exists(path + ".1"));
  WriteVersion(path, "two", 3);
  WriteVersion(path, "three", 3);
  WriteVersion(path, "four", 3);
  CHECK(ReadFile(path) == "four");
  CHECK(ReadFile(path + ".1") == "three");
  CHECK(ReadFile(path + ".2") == "two");
  CHECK_FALSE(Exists(path + ".3"));
  CHECK_FALSE(Exists(path + ".tmp"));
  WriteVersion(path, "five", 1);
  CHECK(ReadFile(path) == "five");
}

TEST_CASE("atomic file refuses a wrong size and leaves the old file",
          "[atomic_file]") {
  TempDir temp("atomic_file_test");
  const std::string& dir = temp.path();
  std::string path = dir + "/snap";
  WriteVersion(path, "old", 2);
  {
    auto file = AtomicFile::Create(path, 10);
    REQUIRE(file.ok());
    const uint8_t bytes[4] = {1, 2, 3, 4};
    REQUIRE(file->Append(bytes, 4).ok());
    CHECK_FALSE(file->Commit(2).ok());  // 4 of 10 bytes
  }
  {
    auto file = AtomicFile::Create(path, 2);
    REQUIRE(file.ok());
    const uint8_t bytes[4] = {1, 2, 3, 4};
    CHECK_FALSE(file->Append(bytes, 4).ok());  // beyond the plan
  }  // dropped uncommitted: the temporary file goes
  CHECK(ReadFile(path) == "old");
  CHECK_FALSE(Exists(path + ".tmp"));
  auto nowhere = AtomicFile::Create(dir + "/no/such/dir/snap", 4);
  REQUIRE_FALSE(nowhere.ok());
  CHECK(nowhere.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(nowhere.status().message())
            .find("/no/such/dir/snap.tmp: create: ") != std::string::npos);
}

}  // namespace
}  // namespace keel::core
