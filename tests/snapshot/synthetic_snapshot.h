// Test helper: writes snapshot files record by record with the block
// writer, checksums right, so that tests can give a reader what only a
// faulty writer (or a crafted file) would: bad chunks, bad labels, repeated
// series.
#ifndef KEEL_TESTS_SNAPSHOT_SYNTHETIC_SNAPSHOT_H_
#define KEEL_TESTS_SNAPSHOT_SYNTHETIC_SNAPSHOT_H_

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/io/atomic_file.h"
#include "core/io/little_endian.h"
#include "core/series/xor_chunk.h"
#include "snapshot/internal/block_writer.h"
#include "snapshot/internal/format.h"

namespace keel::snapshot::snapshot_internal {

struct Synthetic {
  std::vector<std::string> strings;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> series;
  struct Chunk {
    uint32_t series;
    int64_t min_time, max_time;
    uint32_t samples;
    std::string bytes;
    uint8_t encoding = 1;  // 128: bytes are a frame number and offset
  };
  std::vector<Chunk> chunks;  // in (min time, series) order
  // Version 2 writes the frames section (frames of version 1 are written
  // too, as a faulty writer would).
  uint32_t version = 1;
  struct Frame {
    uint32_t group_bytes;
    std::string bytes;
  };
  std::vector<Frame> frames;
};

inline Synthetic MakeSynthetic(int series_count, int chunks_per_series) {
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

inline void WriteSynthetic(const Synthetic& s, const std::string& path,
                           size_t block_payload) {
  SectionPlan strings(block_payload), series(block_payload),
      frames(block_payload), chunks(block_payload);
  size_t largest = 0;
  for (const auto& x : s.frames) {
    frames.Add(kFrameRecordFixedBytes + x.bytes.size());
    largest = std::max(largest, kFrameRecordFixedBytes + x.bytes.size());
  }
  for (const auto& x : s.strings) strings.Add(4 + x.size());
  for (const auto& x : s.series) series.Add(4 + 8 * x.size());
  for (const auto& c : s.chunks) {
    chunks.Add(kChunkRecordFixedBytes + c.bytes.size());
    largest = std::max(largest, kChunkRecordFixedBytes + c.bytes.size());
  }
  Header h;
  h.version = s.version;
  h.string_count = s.strings.size();
  h.series_count = s.series.size();
  h.chunk_count = s.chunks.size();
  h.file_bytes = kHeaderBytes + strings.bytes() + series.bytes() +
                 frames.bytes() + chunks.bytes() + kBlockHeaderBytes +
                 kFooterPayloadBytes;
  h.largest_block_payload = static_cast<uint32_t>(
      std::max({strings.largest_payload(), series.largest_payload(),
                frames.largest_payload(), chunks.largest_payload()}));
  auto file = core::AtomicFile::Create(path, h.file_bytes);
  REQUIRE(file.ok());
  BlockWriter w(*file, block_payload, largest);
  uint8_t head[kHeaderBytes];
  EncodeHeader(h, head);
  REQUIRE(w.WriteHeader(head).ok());
  REQUIRE(w.StartSection(Section::kStrings).ok());
  for (const auto& x : s.strings) {
    uint8_t* p = w.AddRecord(4 + x.size()).value();
    core::PutU32(p, static_cast<uint32_t>(x.size()));
    std::memcpy(p + 4, x.data(), x.size());
  }
  REQUIRE(w.StartSection(Section::kSeries).ok());
  for (const auto& x : s.series) {
    uint8_t* p = w.AddRecord(4 + 8 * x.size()).value();
    core::PutU32(p, static_cast<uint32_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      core::PutU32(p + 4 + 8 * i, x[i].first);
      core::PutU32(p + 8 + 8 * i, x[i].second);
    }
  }
  if (!s.frames.empty()) {
    REQUIRE(w.StartSection(Section::kFrames).ok());
    for (const auto& x : s.frames) {
      uint8_t* p = w.AddRecord(kFrameRecordFixedBytes + x.bytes.size()).value();
      core::PutU32(p, x.group_bytes);
      core::PutU32(p + 4, static_cast<uint32_t>(x.bytes.size()));
      std::memcpy(p + kFrameRecordFixedBytes, x.bytes.data(), x.bytes.size());
    }
  }
  REQUIRE(w.StartSection(Section::kChunks).ok());
  Footer f;
  for (size_t i = 0; i < s.chunks.size(); ++i) {
    const auto& c = s.chunks[i];
    uint8_t* p = w.AddRecord(kChunkRecordFixedBytes + c.bytes.size()).value();
    core::PutU32(p, c.series);
    core::PutI64(p + 4, c.min_time);
    core::PutI64(p + 12, c.max_time);
    core::PutU32(p + 20, c.samples);
    p[24] = c.encoding;
    core::PutU32(p + 25, static_cast<uint32_t>(c.bytes.size()));
    std::memcpy(p + kChunkRecordFixedBytes, c.bytes.data(), c.bytes.size());
    f.sample_count += c.samples;
    f.chunk_bytes += c.bytes.size();
    f.min_time = i == 0 ? c.min_time : std::min(f.min_time, c.min_time);
    f.max_time = i == 0 ? c.max_time : std::max(f.max_time, c.max_time);
  }
  REQUIRE(w.WriteFooter(f).ok());
  REQUIRE(file->Commit(1).ok());
}

// A chunk record holding the XOR encoding of samples at `times` (values
// 1, 2, ...), its range and count taken from them as a writer would.
inline Synthetic::Chunk XorRecord(uint32_t series,
                                  const std::vector<int64_t>& times) {
  core::XorChunk chunk;
  for (std::size_t i = 0; i < times.size(); ++i) {
    chunk.Append(times[i], static_cast<double>(i + 1));
  }
  auto bytes = chunk.bytes();
  return {series, times.front(), times.back(),
          static_cast<uint32_t>(times.size()),
          std::string(bytes.begin(), bytes.end())};
}

}  // namespace keel::snapshot::snapshot_internal

#endif  // KEEL_TESTS_SNAPSHOT_SYNTHETIC_SNAPSHOT_H_
