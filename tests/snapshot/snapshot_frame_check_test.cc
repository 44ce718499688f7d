// Sealed frames in a v2 snapshot come from outside the store: verify and
// restore check every frame and every sealed chunk record before a byte of
// them is used, name the record and the field, and refuse alike.
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/little_endian.h"
#include "core/series/internal/sealed_codec.h"
#include "snapshot/reader.h"
#include "tests/snapshot/synthetic_snapshot.h"
#include "tests/testing/temp_dir.h"

namespace keel::snapshot::snapshot_internal {
namespace {

using core::core_internal::SealedEntry;
using core::core_internal::SealedFrameBuilder;

constexpr int64_t kStart = 1700000000000;  // on a 2 h window

// Two series, 200 one-second samples each, in one frame: series 0 gauges
// with decimals, series 1 a constant.
struct Fixture {
  Synthetic snapshot;
  std::vector<SealedEntry> entries;
};

Fixture Make() {
  Fixture f;
  Synthetic& s = f.snapshot;
  s.version = 2;
  s.strings = {"__name__", "up", "job", "a", "b"};
  s.series = {{{0, 1}, {2, 3}}, {{0, 1}, {2, 4}}};
  SealedFrameBuilder builder;
  for (int series = 0; series < 2; ++series) {
    std::vector<int64_t> t;
    std::vector<uint64_t> bits;
    for (int i = 0; i < 200; ++i) {
      t.push_back(kStart + i * 1000 + (i % 9 == 0 ? 2 : 0));
      double v = series == 0 ? i * 0.5 : 1.0;
      bits.push_back(std::bit_cast<uint64_t>(v));
    }
    REQUIRE(builder.Add(t, bits) == 200);
  }
  std::vector<uint8_t> frame;
  builder.Finish(frame, f.entries);
  s.frames.push_back({static_cast<uint32_t>(frame.size()),
                      std::string(frame.begin(), frame.end())});
  for (uint32_t series = 0; series < 2; ++series) {
    std::string ref(8, '\0');
    core::PutU32(reinterpret_cast<uint8_t*>(ref.data()), 0);
    core::PutU32(reinterpret_cast<uint8_t*>(ref.data()) + 4,
                 f.entries[series].offset);
    s.chunks.push_back({series, kStart + 2, kStart + 199000, 200, ref, 128});
  }
  return f;
}

std::string VerifyError(const std::string& path) {
  auto info = VerifySnapshot(path);
  return info.ok() ? "" : std::string(info.status().message());
}
std::string RestoreError(const std::string& path) {
  auto store = RestoreSnapshot(path);
  return store.ok() ? "" : std::string(store.status().message());
}

void PutOffset(Synthetic::Chunk& c, uint32_t frame, uint32_t offset) {
  core::PutU32(reinterpret_cast<uint8_t*>(c.bytes.data()), frame);
  core::PutU32(reinterpret_cast<uint8_t*>(c.bytes.data()) + 4, offset);
}

TEST_CASE("a v2 file's frames and sealed records are checked", "[content]") {
  testing::TempDir temp("snapshot_frame_check_test");
  std::string path = temp.File("snap");
  const Fixture good = Make();
  WriteSynthetic(good.snapshot, path, 1 << 20);
  INFO(VerifyError(path));
  REQUIRE(VerifyError(path).empty());
  auto restored = RestoreSnapshot(path);
  REQUIRE(restored.ok());
  CHECK((*restored)->Stats().samples == 400);
  CHECK((*restored)->GetSealedStats().samples == 400);

  struct Case {
    const char* what;
    Synthetic snapshot;
    const char* error;
  };
  std::vector<Case> cases;
  Synthetic s = good.snapshot;
  s.chunks[0].samples = 199;
  cases.push_back({"count", s, "199 samples, the entry's"});
  s = good.snapshot;
  s.chunks[1].max_time += 1;
  cases.push_back({"max time", s, "the entry's ["});
  s = good.snapshot;
  PutOffset(s.chunks[0], 0, good.entries[0].offset + 1);
  cases.push_back({"not an entry", s, "no entry at offset"});
  s = good.snapshot;
  PutOffset(s.chunks[0], 1, good.entries[0].offset);
  cases.push_back({"frame number", s, "frame 1 out of range (1 frames)"});
  s = good.snapshot;
  s.chunks[1] = s.chunks[0];
  s.chunks[1].series = 1;
  cases.push_back({"named twice", s, "named twice"});
  s = good.snapshot;
  s.frames[0].group_bytes -= 1;
  cases.push_back({"group overflow", s, "overflows its group"});
  s = good.snapshot;
  s.frames[0].group_bytes += 16;
  cases.push_back({"group unfilled", s, "the last frame group lacks 16"});
  s = good.snapshot;
  s.frames[0].bytes.back() ^= 0x55;  // the zstd payload, or raw sections
  cases.push_back({"payload", s, "frame 0: sealed frame: entry"});
  s = good.snapshot;
  s.frames[0].bytes[good.entries[0].offset + 2] ^= 1;  // its own offset
  cases.push_back({"entry offset", s, "frame 0: sealed frame: entry 0"});
  s = good.snapshot;
  core::PutU32(reinterpret_cast<uint8_t*>(s.frames[0].bytes.data()) + 7,
               1 << 20);  // stored payload bytes
  cases.push_back({"stored size", s, "frame 0: sealed frame: payload at"});
  s = good.snapshot;
  s.version = 1;
  cases.push_back({"frames in v1", s, "a frames block in a version 1 file"});
  for (const Case& k : cases) {
    INFO(k.what);
    WriteSynthetic(k.snapshot, path, 1 << 20);
    std::string verify = VerifyError(path);
    CHECK_THAT(verify, Catch::Contains(k.error));
    CHECK_THAT(verify, Catch::Contains(": offset "));
    CHECK(RestoreError(path) == verify);
  }
}

}  // namespace
}  // namespace keel::snapshot::snapshot_internal
