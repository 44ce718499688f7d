#include "keel/core/line_reader.h"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace keel::core {
namespace {

using testing::TempDir;
using testing::WriteFile;

std::string Gzip(const std::string& text) {
  std::string out(compressBound(text.size()) + 64, '\0');
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) ==
          Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

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
  CHECK(std::string(missing.status().message()).find("does_not_exist") !=
        std::string::npos);

  std::string path = dir.File("long.txt");
  WriteFile(path, "short\n" + std::string(LineReader::kMaxLineBytes + 10, 'x'));
  absl::Status status;
  auto lines = ReadAll(path, &status);
  CHECK(lines == std::vector<std::string>{"short"});
  CHECK_FALSE(status.ok());
  CHECK(std::string(status.message()).find(":2: line longer") !=
        std::string::npos);
}

}  // namespace
}  // namespace keel::core
