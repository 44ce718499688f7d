// The format without a store: files built with the block writer and read
// back with the parser, then damaged byte by byte.
#include "keel/snapshot/internal/record_parser.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "keel/snapshot/internal/atomic_file.h"
#include "keel/snapshot/internal/block_writer.h"
#include "keel/snapshot/internal/format.h"
#include "keel/snapshot/internal/little_endian.h"
#include "keel/snapshot/reader.h"
#include "testing/temp_dir.h"

namespace keel::snapshot::snapshot_internal {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

struct Synthetic {
  std::vector<std::string> strings;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> series;
  struct Chunk {
    uint32_t series;
    int64_t min_time, max_time;
    uint32_t samples;
    std::string bytes;
  };
  std::vector<Chunk> chunks;  // in (min time, series) order
};

Synthetic MakeSynthetic(int series_count, int chunks_per_series) {
  Synthetic s;
  s.strings = {"__name__", "job", "metric_a", "node"};
  for (int i = 0; i < series_count; ++i) {
    s.strings.push_back("instance-" + std::to_string(i));
    s.series.push_back(
        {{0, 2}, {1, static_cast<uint32_t>(s.strings.size() - 1)}});
  }
  for (int c = 0; c < chunks_per_series; ++c) {
    for (int i = 0; i < series_count; ++i) {
      s.chunks.push_back(
          {static_cast<uint32_t>(i), c * 1000, c * 1000 + 900,
           static_cast<uint32_t>(10 + i),
           std::string(20 + (i * 7 + c * 13) % 90, 'a' + i % 26)});
    }
  }
  return s;
}

void WriteSynthetic(const Synthetic& s, const std::string& path,
                    size_t block_payload) {
  SectionPlan strings(block_payload), series(block_payload),
      chunks(block_payload);
  size_t largest = 0;
  for (const auto& x : s.strings) strings.Add(4 + x.size());
  for (const auto& x : s.series) series.Add(4 + 8 * x.size());
  for (const auto& c : s.chunks) {
    chunks.Add(kChunkRecordFixedBytes + c.bytes.size());
    largest = std::max(largest, kChunkRecordFixedBytes + c.bytes.size());
  }
  Header h;
  h.string_count = s.strings.size();
  h.series_count = s.series.size();
  h.chunk_count = s.chunks.size();
  h.file_bytes = kHeaderBytes + strings.bytes() + series.bytes() +
                 chunks.bytes() + kBlockHeaderBytes + kFooterPayloadBytes;
  h.largest_block_payload = static_cast<uint32_t>(
      std::max({strings.largest_payload(), series.largest_payload(),
                chunks.largest_payload()}));
  auto file = AtomicFile::Create(path, h.file_bytes);
  REQUIRE(file.ok());
  BlockWriter w(*file, block_payload, largest);
  uint8_t head[kHeaderBytes];
  EncodeHeader(h, head);
  REQUIRE(w.WriteHeader(head).ok());
  REQUIRE(w.StartSection(Section::kStrings).ok());
  for (const auto& x : s.strings) {
    uint8_t* p = w.AddRecord(4 + x.size()).value();
    PutU32(p, static_cast<uint32_t>(x.size()));
    std::memcpy(p + 4, x.data(), x.size());
  }
  REQUIRE(w.StartSection(Section::kSeries).ok());
  for (const auto& x : s.series) {
    uint8_t* p = w.AddRecord(4 + 8 * x.size()).value();
    PutU32(p, static_cast<uint32_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      PutU32(p + 4 + 8 * i, x[i].first);
      PutU32(p + 8 + 8 * i, x[i].second);
    }
  }
  REQUIRE(w.StartSection(Section::kChunks).ok());
  Footer f;
  for (size_t i = 0; i < s.chunks.size(); ++i) {
    const auto& c = s.chunks[i];
    uint8_t* p = w.AddRecord(kChunkRecordFixedBytes + c.bytes.size()).value();
    PutU32(p, c.series);
    PutI64(p + 4, c.min_time);
    PutI64(p + 12, c.max_time);
    PutU32(p + 20, c.samples);
    p[24] = 1;
    PutU32(p + 25, static_cast<uint32_t>(c.bytes.size()));
    std::memcpy(p + kChunkRecordFixedBytes, c.bytes.data(), c.bytes.size());
    f.sample_count += c.samples;
    f.chunk_bytes += c.bytes.size();
    f.min_time = i == 0 ? c.min_time : std::min(f.min_time, c.min_time);
    f.max_time = i == 0 ? c.max_time : std::max(f.max_time, c.max_time);
  }
  REQUIRE(w.WriteFooter(f).ok());
  REQUIRE(file->Commit(1).ok());
}

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
  bytes[8] = 2;  // version 2; a v2 writer would also fix the CRC
  WriteFile(path, bytes);
  auto summary = ParseSnapshot(path, nullptr);
  REQUIRE_FALSE(summary.ok());
  CHECK(summary.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(summary.status().message()).find("version 2 is newer") !=
        std::string::npos);
}

}  // namespace
}  // namespace keel::snapshot::snapshot_internal
