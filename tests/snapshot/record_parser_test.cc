// The format without a store: files built with the block writer and read
// back with the parser, then damaged byte by byte.
#include "snapshot/internal/record_parser.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "core/io/little_endian.h"
#include "snapshot/internal/block_writer.h"
#include "snapshot/internal/format.h"
#include "snapshot/reader.h"
#include "tests/snapshot/synthetic_snapshot.h"
#include "tests/testing/temp_dir.h"

namespace keel::snapshot::snapshot_internal {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

class Collector : public RecordVisitor {
 public:
  absl::Status OnHeader(const Header& header) override {
    strings_.reserve(header.string_count);
    return absl::OkStatus();
  }
  absl::Status OnString(uint32_t index, std::string_view s) override {
    REQUIRE(index == strings_.size());
    strings_.emplace_back(s);
    return absl::OkStatus();
  }
  absl::Status OnSeries(uint32_t series,
                        std::span<const LabelRef> labels) override {
    std::string text = std::to_string(series) + ":";
    for (const LabelRef& l : labels) {
      text += strings_.at(l.name) + "=" + strings_.at(l.value) + ",";
    }
    series_.push_back(text);
    return absl::OkStatus();
  }
  absl::Status OnChunk(const ChunkRecord& c) override {
    chunks_.push_back(std::to_string(c.series) + "@" +
                      std::to_string(c.min_time) + "/" +
                      std::to_string(c.sample_count) + ":" +
                      std::string(c.bytes.begin(), c.bytes.end()));
    return absl::OkStatus();
  }
  std::vector<std::string> strings_, series_, chunks_;
};

TEST_CASE("records written in blocks read back in order", "[format]") {
  TempDir temp("record_parser_test");
  const std::string& dir = temp.path();
  Synthetic s = MakeSynthetic(40, 5);
  for (size_t block : {64, 512, 1 << 20}) {
    std::string path = dir + "/snap";
    WriteSynthetic(s, path, block);
    Collector c;
    auto summary = ParseSnapshot(path, &c);
    REQUIRE(summary.ok());
    CHECK(summary->header.series_count == 40);
    CHECK(summary->header.chunk_count == 200);
    CHECK(summary->footer.min_time == 0);
    CHECK(summary->footer.max_time == 4900);
    CHECK(summary->header.file_bytes == ReadFile(path).size());
    if (block == 64) CHECK(summary->data_blocks > 100);
    if (block == 1 << 20) CHECK(summary->data_blocks == 3);
    REQUIRE(c.series_.size() == 40);
    CHECK(c.series_[3] == "3:__name__=metric_a,job=instance-3,");
    REQUIRE(c.chunks_.size() == 200);
    CHECK(c.chunks_[41] == "1@1000/11:" + s.chunks[41].bytes);
  }
}

TEST_CASE("every flipped byte and every truncation is caught", "[format]") {
  TempDir temp("record_parser_test");
  const std::string& dir = temp.path();
  std::string path = dir + "/snap";
  WriteSynthetic(MakeSynthetic(6, 3), path, 256);
  const std::string good = ReadFile(path);
  REQUIRE(ParseSnapshot(path, nullptr).ok());
  std::string bad_path = dir + "/bad";
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    WriteFile(bad_path, bad);
    Collector c;
    auto summary = ParseSnapshot(bad_path, &c);
    INFO("flipped byte " << i);
    REQUIRE_FALSE(summary.ok());
    CHECK(summary.status().message().find("offset") != std::string::npos);
  }
  for (size_t n = 0; n < good.size(); ++n) {
    WriteFile(bad_path, good.substr(0, n));
    INFO("truncated to " << n);
    auto summary = ParseSnapshot(bad_path, nullptr);
    REQUIRE_FALSE(summary.ok());
  }
  WriteFile(bad_path, good + "x");
  CHECK_FALSE(ParseSnapshot(bad_path, nullptr).ok());
}

// What only a faulty writer would produce, with valid checksums: restore
// takes labels as RestoreSeries did, by their text.
TEST_CASE("restore reads labels by text, refusing a repeated series",
          "[format]") {
  TempDir temp("record_parser_test");
  const std::string& dir = temp.path();
  std::string path = dir + "/snap";
  Synthetic s;
  s.strings = {"__name__", "job", "metric_a", "node", "node", "api", ""};
  s.series = {{{0, 2}, {1, 3}},           // metric_a{job="node"}
              {{1, 5}, {0, 2}},           // unsorted: metric_a{job="api"}
              {{0, 2}, {1, 5}, {5, 6}}};  // an empty value: the same again
  WriteSynthetic(s, path, 1 << 20);
  auto restored = RestoreSnapshot(path);
  REQUIRE_FALSE(restored.ok());
  CHECK(std::string(restored.status().message())
            .find("series 2: series "
                  "metric_a{job=\"api\"} "
                  "exists already") != std::string::npos);
  s.series.pop_back();
  s.series.push_back({{0, 2}, {1, 4}});  // "node" again, another string
  WriteSynthetic(s, path, 1 << 20);
  restored = RestoreSnapshot(path);
  REQUIRE_FALSE(restored.ok());
  CHECK(std::string(restored.status().message()).find("exists already") !=
        std::string::npos);
  s.series.pop_back();
  WriteSynthetic(s, path, 1 << 20);
  restored = RestoreSnapshot(path);
  REQUIRE(restored.ok());
  CHECK((*restored)->Stats().series == 2);
  CHECK(*(*restored)->GetOrCreate({{"job", "api"}, {"__name__", "metric_a"}}) ==
        1);
}

TEST_CASE("a newer version is refused by name", "[format]") {
  TempDir temp("record_parser_test");
  const std::string& dir = temp.path();
  std::string path = dir + "/snap";
  WriteSynthetic(MakeSynthetic(2, 1), path, 1 << 20);
  std::string bytes = ReadFile(path);
  bytes[8] = 3;  // version 3; a v3 writer would also fix the CRC
  WriteFile(path, bytes);
  auto summary = ParseSnapshot(path, nullptr);
  REQUIRE_FALSE(summary.ok());
  CHECK(summary.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(summary.status().message()).find("version 3 is newer") !=
        std::string::npos);
}

// Verify and restore make the same content checks (finding 7 of issue 13):
// a file whose checksums are right but whose records a store cannot take
// is refused by both, naming the record and the field.
std::string VerifyError(const std::string& path) {
  auto info = VerifySnapshot(path);
  return info.ok() ? "" : std::string(info.status().message());
}
std::string RestoreError(const std::string& path) {
  auto store = RestoreSnapshot(path);
  return store.ok() ? "" : std::string(store.status().message());
}

Synthetic OneSeries(std::vector<Synthetic::Chunk> chunks) {
  Synthetic s;
  s.strings = {"__name__", "up", "job", "node"};
  s.series = {{{0, 1}, {2, 3}}};
  s.chunks = std::move(chunks);
  return s;
}

TEST_CASE("verify and restore decode every chunk against its record",
          "[content]") {
  TempDir temp("record_parser_test");
  std::string path = temp.path() + "/snap";
  std::vector<int64_t> times;
  for (int i = 0; i < 300; ++i) times.push_back(1000 + 15000 * i);
  Synthetic::Chunk good = XorRecord(0, times);
  WriteSynthetic(OneSeries({good}), path, 1 << 20);
  REQUIRE(VerifyError(path).empty());
  REQUIRE(RestoreError(path).empty());

  struct Case {
    const char* what;
    Synthetic::Chunk chunk;
    const char* error;
  };
  std::vector<Case> cases;
  Synthetic::Chunk c = good;
  c.max_time = times[292];  // samples past the recorded range
  cases.push_back({"max time short", c, "max_time: the last sample is at"});
  c = good;
  c.min_time = times[0] - 1;
  cases.push_back({"min time early", c, "min_time: the first sample is at"});
  c = good;
  c.samples = 299;
  cases.push_back({"count", c, "sample count: the record says 299"});
  c = good;
  c.bytes.resize(c.bytes.size() - 3);  // the stream ends before sample 300
  cases.push_back({"truncated", c, "bit stream: xor chunk of"});
  // Timestamps going back: first and last match the record, the middle
  // does not ascend (dump showed such a chunk's samples out of order).
  std::vector<int64_t> back = times;
  std::swap(back[100], back[101]);
  cases.push_back(
      {"out of order", XorRecord(0, back), "timestamps: sample 101 at"});
  c = good;
  c.bytes[0] = 0;  // header count 44 + 256 * 0
  cases.push_back({"header count", c, "the chunk's header"});
  for (const Case& k : cases) {
    INFO(k.what);
    WriteSynthetic(OneSeries({k.chunk}), path, 1 << 20);
    std::string verify = VerifyError(path);
    std::string restore = RestoreError(path);
    CHECK_THAT(verify, Catch::Contains(k.error));
    CHECK_THAT(verify, Catch::Contains("chunk 0: series 0, chunk ["));
    CHECK_THAT(verify, Catch::Contains(": offset "));
    CHECK(restore == verify);
  }
}

TEST_CASE("verify refuses the labels and repeated series a restore refuses",
          "[content]") {
  TempDir temp("record_parser_test");
  std::string path = temp.path() + "/snap";
  struct Case {
    const char* what;
    std::vector<std::string> strings;
    std::vector<std::vector<std::pair<uint32_t, uint32_t>>> series;
    const char* error;  // "" when both accept
  };
  std::vector<Case> cases = {
      {"duplicate label name",
       {"__name__", "up", "job", "a", "b"},
       {{{0, 1}, {2, 3}, {2, 4}}},
       "series 0: label \"job\": name given twice"},
      {"invalid name",
       {"__name__", "up", "1job", "a"},
       {{{0, 1}, {2, 3}}},
       "series 0: label \"1job\""},
      {"invalid UTF-8",
       {"__name__", "up", "job", "\xff"},
       {{{0, 1}, {2, 3}}},
       "not valid UTF-8"},
      {"invalid metric name",
       {"__name__", "a-b"},
       {{{0, 1}}},
       "metric name \"a-b\""},
      {"no labels", {}, {{}}, "series 0: "},
      {"repeated series, another string",
       {"__name__", "up", "up"},
       {{{0, 1}}, {{0, 2}}},
       "series 1: series up{} exists already"},
      {"unsorted and an empty value, normalised",
       {"__name__", "up", "job", "a", "x", ""},
       {{{2, 3}, {0, 1}, {4, 5}}},
       ""},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    Synthetic s;
    s.strings = k.strings;
    s.series = k.series;
    WriteSynthetic(s, path, 1 << 20);
    std::string verify = VerifyError(path);
    CHECK(verify == RestoreError(path));
    if (*k.error == 0) {
      CHECK(verify.empty());
    } else {
      CHECK_THAT(verify, Catch::Contains(k.error));
    }
  }
}

TEST_CASE("a FIFO or a directory is refused, not read", "[content]") {
  TempDir temp("record_parser_test");
  std::string fifo = temp.path() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // With no writer, a blocking open or read would wait forever.
  auto info = VerifySnapshot(fifo);
  REQUIRE_FALSE(info.ok());
  CHECK(info.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(info.status().message()),
             Catch::Contains("not a regular file (a FIFO)"));
  CHECK_FALSE(RestoreSnapshot(fifo).ok());
  info = VerifySnapshot(temp.path());
  REQUIRE_FALSE(info.ok());
  CHECK_THAT(std::string(info.status().message()),
             Catch::Contains("(a directory)"));
}

}  // namespace
}  // namespace keel::snapshot::snapshot_internal
