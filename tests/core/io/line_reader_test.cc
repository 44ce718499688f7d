#include "core/io/line_reader.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/gzip.h"
#include "tests/testing/temp_dir.h"

namespace keel::core {
namespace {

using testing::Gzip;
using testing::TempDir;
using testing::WriteFile;

std::vector<std::string> ReadAll(const std::string& path,
                                 absl::Status* status = nullptr,
                                 bool* gzip = nullptr) {
  auto reader = LineReader::Open(path);
  REQUIRE(reader.ok());
  std::vector<std::string> lines;
  std::string_view line;
  while (reader->Next(&line)) {
    lines.emplace_back(line);
    CHECK(reader->line_number() == static_cast<int64_t>(lines.size()));
  }
  if (status != nullptr) *status = reader->status();
  if (status == nullptr) CHECK(reader->status().ok());
  if (gzip != nullptr) *gzip = reader->is_gzip();
  return lines;
}

TEST_CASE(
    "LineReader reads plain lines, CRLF and a last line without newline") {
  TempDir dir("line_reader_test");
  std::string path = dir.File("plain.txt");
  WriteFile(path, "a\tb\r\n\nthird\nlast");
  bool gzip = true;
  auto lines = ReadAll(path, nullptr, &gzip);
  CHECK_FALSE(gzip);
  CHECK(lines == std::vector<std::string>{"a\tb", "", "third", "last"});
  WriteFile(path, "");
  CHECK(ReadAll(path).empty());
}

TEST_CASE("LineReader recognises gzip by content, whatever the name") {
  TempDir dir("line_reader_test");
  std::string text;
  std::vector<std::string> expected;
  for (int i = 0; i < 200000; ++i) {  // several buffer fills
    expected.push_back("line " + std::to_string(i));
    text += expected.back() + "\n";
  }
  std::string path = dir.File("looks_plain.txt");
  WriteFile(path, Gzip(text));
  bool gzip = false;
  CHECK(ReadAll(path, nullptr, &gzip) == expected);
  CHECK(gzip);
  // Two members read as one stream.
  WriteFile(path, Gzip("a\nb\n") + Gzip("c\n"));
  CHECK(ReadAll(path) == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("LineReader reports truncated gzip data naming the file") {
  TempDir dir("line_reader_test");
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "row " + std::to_string(i) + "\n";
  std::string gz = Gzip(text);
  std::string path = dir.File("truncated.gz");
  WriteFile(path, gz.substr(0, gz.size() / 2));
  absl::Status status;
  ReadAll(path, &status);
  CHECK_FALSE(status.ok());
  CHECK(std::string(status.message()).find(path) != std::string::npos);
}

TEST_CASE("LineReader refuses a missing file and an endless line") {
  TempDir dir("line_reader_test");
  auto missing = LineReader::Open(dir.File("does_not_exist"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()).find("does_not_exist: open") !=
        std::string::npos);
  // errno gives the code: a directory opens, then fails to read, and is not
  // "not found".
  auto directory = LineReader::Open(dir.path());
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(directory.status().message()).find(": read: ") !=
        std::string::npos);

  std::string path = dir.File("long.txt");
  // Built by append: GCC 12 warns array-bounds (a false positive) on
  // "literal" + std::string(n, c) for large n.
  std::string text = "short\n";
  text.append(LineReader::kMaxLineBytes + 10, 'x');
  WriteFile(path, text);
  absl::Status status;
  auto lines = ReadAll(path, &status);
  CHECK(lines == std::vector<std::string>{"short"});
  CHECK_FALSE(status.ok());
  CHECK(std::string(status.message()).find(":2: line longer") !=
        std::string::npos);
}

TEST_CASE("LineReader's line limit is an option, and names file and line") {
  TempDir dir("line_reader_test");
  std::string path = dir.File("limit.txt");
  WriteFile(path, "12345\r\n123456\n");
  auto reader = LineReader::Open(path, {.max_line_bytes = 5});
  REQUIRE(reader.ok());
  std::string_view line;
  REQUIRE(reader->Next(&line));
  CHECK(line == "12345");  // the limit itself, its "\r" aside, is allowed
  CHECK_FALSE(reader->Next(&line));
  CHECK(reader->status().message() ==
        path + ":2: line longer than the limit of 5 bytes");
  CHECK_FALSE(reader->Next(&line));  // and stays stopped

  // A last line without "\n" is held to the limit too.
  WriteFile(path, "ok\n123456");
  auto last = LineReader::Open(path, {.max_line_bytes = 5});
  REQUIRE(last.ok());
  REQUIRE(last->Next(&line));
  CHECK_FALSE(last->Next(&line));
  CHECK(last->status().message() ==
        path + ":2: line longer than the limit of 5 bytes");

  // A line longer than the default but within a raised limit reads whole.
  std::string big(LineReader::kMaxLineBytes * 3, 'y');
  WriteFile(path, "a\n" + big + "\nb\n");
  auto raised =
      LineReader::Open(path, {.max_line_bytes = LineReader::kMaxLineBytes * 4});
  REQUIRE(raised.ok());
  std::vector<std::string> lines;
  while (raised->Next(&line)) lines.emplace_back(line);
  CHECK(raised->status().ok());
  CHECK(lines == std::vector<std::string>{"a", big, "b"});
}

TEST_CASE("LineReader stops with an error on an endless device, never EOF") {
  auto reader = LineReader::Open("/dev/zero", {.max_line_bytes = 1000});
  REQUIRE(reader.ok());
  std::string_view line;
  CHECK_FALSE(reader->Next(&line));
  CHECK(reader->status().message() ==
        "/dev/zero:1: line longer than the limit of 1000 bytes");
}

// Opens the read end of a pipe by name, as `keel series import /dev/stdin`
// does, while a thread writes `bytes` into it.
std::vector<std::string> ReadThroughPipe(const std::string& bytes,
                                         absl::Status* status,
                                         bool* gzip = nullptr) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::thread writer([&] {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = write(fds[1], bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fds[1]);
  });
  auto reader = LineReader::Open("/proc/self/fd/" + std::to_string(fds[0]));
  close(fds[0]);  // the reader has its own descriptor
  std::vector<std::string> lines;
  if (reader.ok()) {
    std::string_view line;
    while (reader->Next(&line)) lines.emplace_back(line);
    *status = reader->status();
    if (gzip != nullptr) *gzip = reader->is_gzip();
  } else {
    *status = reader.status();
  }
  writer.join();
  return lines;
}

TEST_CASE("LineReader reads pipes, plain and gzip") {
  std::string text;
  std::vector<std::string> expected;
  for (int i = 0; i < 100000; ++i) {
    expected.push_back("row " + std::to_string(i));
    text += expected.back() + "\n";
  }
  absl::Status status;
  bool gzip = true;
  CHECK(ReadThroughPipe(text, &status, &gzip) == expected);
  CHECK(status.ok());
  CHECK_FALSE(gzip);
  CHECK(ReadThroughPipe(Gzip(text) + Gzip("last\n"), &status, &gzip).size() ==
        expected.size() + 1);
  CHECK(status.ok());
  CHECK(gzip);
  // One byte is not yet a gzip header; a cut gzip stream is an error.
  CHECK(ReadThroughPipe("x", &status) == std::vector<std::string>{"x"});
  CHECK(status.ok());
  std::string gz = Gzip(text);
  ReadThroughPipe(gz.substr(0, gz.size() / 2), &status);
  CHECK_FALSE(status.ok());
  CHECK(std::string(status.message()).find("gzip data") != std::string::npos);
}

}  // namespace
}  // namespace keel::core
