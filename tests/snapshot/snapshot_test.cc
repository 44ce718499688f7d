// WriteSnapshot / RestoreSnapshot / VerifySnapshot against real stores:
// round trips bit for bit, damage anywhere is caught, newer versions are
// refused, a writer killed at any moment leaves the previous snapshot, and
// the temporaries of a write or a restore leave nothing resident.
#include <jemalloc/jemalloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "alloc/stats.h"
#include "core/series/series_store.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tests/testing/temp_dir.h"

namespace keel::snapshot {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr int64_t kStart = 1'700'006'400'000;

double Awkward(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
      return std::numeric_limits<double>::quiet_NaN();
    case 1:
      return std::numeric_limits<double>::infinity();
    case 2:
      return -std::numeric_limits<double>::infinity();
    case 3:
      return -0.0;
    case 4:
      return std::numeric_limits<double>::denorm_min();
    case 5: {
      uint64_t bits = 0x7FF0000000000000ull | (rng() & 0xFFFFFFFFFFFFFull) | 1;
      double v;
      std::memcpy(&v, &bits, 8);
      return v;  // a NaN with a payload
    }
    default:
      return static_cast<double>(rng() % 1000) / 7;
  }
}

// `series` series with samples every 15 s (1 in 20 off by a few ms) over
// `hours`, values mixing counters, gauges and awkward doubles.
std::unique_ptr<core::SeriesStore> MakeStore(int series, int hours,
                                             uint64_t seed) {
  core::SeriesStoreOptions options;
  options.chunk_window_ms = 2 * 3600 * 1000;
  auto store = std::make_unique<core::SeriesStore>(options);
  std::mt19937_64 rng(seed);
  std::vector<core::SeriesRef> refs;
  for (int i = 0; i < series; ++i) {
    core::Labels labels = {{"__name__", "metric_" + std::to_string(i % 7)},
                           {"instance", "host-" + std::to_string(i)},
                           {"job", i % 2 ? "node" : "api"}};
    if (i % 3 == 0) labels.push_back({"quote", "a\"b\\c\nd"});
    refs.push_back(store->GetOrCreate(labels).value());
  }
  std::vector<double> value(series, 0);
  for (int64_t t = kStart; t < kStart + hours * 3600 * 1000; t += 15000) {
    for (int i = 0; i < series; ++i) {
      if (i % 3 == 0) {
        value[i] += static_cast<double>(rng() % 5);
      } else if (i % 3 == 1) {
        value[i] = Awkward(rng);
      }
      int64_t jitter =
          rng() % 20 == 0 ? static_cast<int64_t>(rng() % 5) + 1 : 0;
      store->Append(refs[i], t + jitter, value[i]);
    }
  }
  return store;
}

using SampleMap =
    std::map<std::string, std::vector<std::pair<int64_t, uint64_t>>>;

SampleMap Samples(const core::SeriesStore& store) {
  SampleMap out;
  core::SeriesSet cut = store.Cut();
  for (const auto& e : cut.series()) {
    std::string key;
    for (const auto& l : e.labels) key += l.name + "=" + l.value + ";";
    auto& samples = out[key];
    for (auto it = cut.Samples(e); it.Next();) {
      uint64_t bits;
      double v = it.v();
      std::memcpy(&bits, &v, 8);
      samples.push_back({it.t(), bits});
    }
  }
  return out;
}

TEST_CASE("a snapshot restores every sample bit for bit", "[snapshot]") {
  TempDir temp("snapshot_test");
  const std::string& dir = temp.path();
  auto store = MakeStore(60, 7, 1);
  for (ChunkOrder order :
       {ChunkOrder::kChronological, ChunkOrder::kSeriesRandom}) {
    WriteOptions options;
    options.order = order;
    options.block_payload = 4096;  // many blocks
    auto written = WriteSnapshot(*store, dir + "/snap", options);
    REQUIRE(written.ok());
    CHECK(written->bytes == ReadFile(dir + "/snap").size());
    CHECK(written->series == 60);
    CHECK(written->buffer_bytes <= 4096 + 16 + 65535 + 29);

    auto info = VerifySnapshot(dir + "/snap");
    REQUIRE(info.ok());
    CHECK(info->samples == written->samples);
    CHECK(info->random_order == (order == ChunkOrder::kSeriesRandom));
    CHECK(info->blocks > 10);

    RestoreStats stats;
    auto restored = RestoreSnapshot(dir + "/snap", {}, &stats);
    REQUIRE(restored.ok());
    CHECK(stats.info.chunks == written->chunks);
    CHECK(Samples(**restored) == Samples(*store));
    CHECK((*restored)->Stats().live_bytes == store->Stats().live_bytes);
    // The restored store takes appends after its last sample.
    core::SeriesSet cut = (*restored)->Cut();
    CHECK((*restored)->Append(cut.series()[0].ref, kStart + 8 * 3600 * 1000,
                              1.0) == core::AppendResult::kAppended);
  }
  auto empty = std::make_unique<core::SeriesStore>();
  REQUIRE(WriteSnapshot(*empty, dir + "/empty").ok());
  auto restored = RestoreSnapshot(dir + "/empty");
  REQUIRE(restored.ok());
  CHECK((*restored)->Stats().series == 0);
}

TEST_CASE("writes keep the previous snapshots", "[snapshot]") {
  TempDir temp("snapshot_test");
  const std::string& dir = temp.path();
  auto a = MakeStore(3, 1, 1);
  auto b = MakeStore(5, 1, 2);
  WriteOptions keep3;
  keep3.keep = 3;
  REQUIRE(WriteSnapshot(*a, dir + "/s", keep3).ok());
  REQUIRE(WriteSnapshot(*b, dir + "/s", keep3).ok());
  REQUIRE(WriteSnapshot(*a, dir + "/s", keep3).ok());
  CHECK(VerifySnapshot(dir + "/s")->series == 3);
  CHECK(VerifySnapshot(dir + "/s.1")->series == 5);
  CHECK(VerifySnapshot(dir + "/s.2")->series == 3);
  CHECK_FALSE(VerifySnapshot(dir + "/s.3").ok());
  auto bad = WriteSnapshot(*a, dir + "/missing/dir/s");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("missing/dir") !=
        std::string::npos);
}

TEST_CASE("flipped bytes and truncations anywhere are caught", "[snapshot]") {
  TempDir temp("snapshot_test");
  const std::string& dir = temp.path();
  auto store = MakeStore(4, 3, 3);
  WriteOptions options;
  options.block_payload = 4096;
  REQUIRE(WriteSnapshot(*store, dir + "/good", options).ok());
  const std::string good = ReadFile(dir + "/good");
  REQUIRE(good.size() > 1000);
  const std::string bad = dir + "/bad";
  std::mt19937_64 rng(5);
  // Every byte of the header, the first block header and the footer, and
  // random bytes elsewhere.
  std::vector<size_t> positions;
  for (size_t i = 0; i < 96; ++i) positions.push_back(i);
  for (size_t i = good.size() - 64; i < good.size(); ++i)
    positions.push_back(i);
  for (int k = 0; k < 300; ++k) positions.push_back(rng() % good.size());
  for (size_t i : positions) {
    std::string damaged = good;
    damaged[i] = static_cast<char>(damaged[i] ^ (1 + rng() % 255));
    WriteFile(bad, damaged);
    INFO("byte " << i << " of " << good.size());
    auto verified = VerifySnapshot(bad);
    REQUIRE_FALSE(verified.ok());
    CHECK(std::string(verified.status().message()).find("offset") !=
          std::string::npos);
    CHECK_FALSE(RestoreSnapshot(bad).ok());
  }
  for (int k = 0; k < 200; ++k) {
    size_t n = k < 100 ? static_cast<size_t>(k) : rng() % good.size();
    WriteFile(bad, good.substr(0, n));
    INFO("truncated to " << n);
    auto verified = VerifySnapshot(bad);
    REQUIRE_FALSE(verified.ok());
    CHECK_FALSE(RestoreSnapshot(bad).ok());
  }
  CHECK(RestoreSnapshot(dir + "/good").ok());
}

TEST_CASE("a newer format version is refused with a clear error",
          "[snapshot]") {
  TempDir temp("snapshot_test");
  const std::string& dir = temp.path();
  auto store = MakeStore(2, 1, 4);
  REQUIRE(WriteSnapshot(*store, dir + "/s").ok());
  std::string bytes = ReadFile(dir + "/s");
  bytes[8] = 7;
  WriteFile(dir + "/s", bytes);
  auto restored = RestoreSnapshot(dir + "/s");
  REQUIRE_FALSE(restored.ok());
  CHECK(restored.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(restored.status().message()).find("version 7 is newer") !=
        std::string::npos);
}

// A child process writes snapshots of two stores in turn, forever; the
// parent SIGKILLs it after a random delay. Whatever the moment, PATH holds
// one of the two snapshots, whole.
TEST_CASE("a writer killed at any point leaves the previous snapshot",
          "[snapshot]") {
  TempDir temp("snapshot_test");
  const std::string& dir = temp.path();
  const std::string path = dir + "/s";
  auto a = MakeStore(300, 2, 6);
  auto b = MakeStore(200, 2, 7);
  REQUIRE(WriteSnapshot(*a, path).ok());
  const uint64_t samples_a = a->Stats().samples;
  const uint64_t samples_b = b->Stats().samples;
  // Kills land up to three writes of b in (at least 60 ms): under a
  // sanitizer on a loaded machine one write takes longer than that, and
  // kills that all land before the first rename test nothing.
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(WriteSnapshot(*b, dir + "/timing").ok());
  const int64_t write_us =
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - start)
          .count();
  const uint64_t max_delay_us =
      static_cast<uint64_t>(std::max<int64_t>(60000, 3 * write_us));
  std::mt19937_64 rng(8);
  int saw_b = 0;
  for (int round = 0; round < 50; ++round) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (int k = 0;; ++k) {
        if (!WriteSnapshot(k % 2 ? *a : *b, path).ok()) ::_exit(3);
      }
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(rng() % max_delay_us));
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    INFO("round " << round);
    auto info = VerifySnapshot(path);
    REQUIRE(info.ok());
    CHECK((info->samples == samples_a || info->samples == samples_b));
    auto restored = RestoreSnapshot(path);
    REQUIRE(restored.ok());
    CHECK((*restored)->Stats().samples == info->samples);
    saw_b += info->samples == samples_b;
  }
  CHECK(saw_b > 0);  // the kills did not all land before the first rename
}

unsigned ThreadArenaIndex() {
  unsigned index = 0;
  size_t size = sizeof(index);
  REQUIRE(mallctl("thread.arena", &index, &size, nullptr, 0) == 0);
  return index;
}

alloc::ArenaStats ScratchStats() {
  for (alloc::ArenaStats& a : alloc::CaptureStats().arenas) {
    if (a.name == "snapshot") return a;
  }
  FAIL("no \"snapshot\" arena");
  return {};
}

// The cut's chunk lists, the parser's entry table and the checker's batches
// are tens of MB for a large store: they must not stay resident after the
// write or the restore (the restore's peak and a server's RSS would carry
// them), and the thread must get its own arena back.
TEST_CASE("a snapshot's temporaries leave nothing resident", "[snapshot]") {
  TempDir temp("snapshot_test");
  const std::string path = temp.path() + "/snap";
  auto store = MakeStore(2000, 7, 3);
  const unsigned arena = ThreadArenaIndex();

  REQUIRE(WriteSnapshot(*store, path).ok());
  CHECK(ThreadArenaIndex() == arena);
  alloc::ArenaStats written = ScratchStats();
  CHECK(written.purges >= 1);
  CHECK(written.memory.dirty == 0);
  CHECK(written.memory.muzzy == 0);
  CHECK(written.memory.allocated < (64u << 10));

  auto restored = RestoreSnapshot(path);
  REQUIRE(restored.ok());
  CHECK(ThreadArenaIndex() == arena);
  alloc::ArenaStats after = ScratchStats();
  CHECK(after.purges > written.purges);
  CHECK(after.memory.dirty == 0);
  CHECK(after.memory.muzzy == 0);
  // What the restore built to keep is in the store's arena, not here.
  CHECK(after.memory.allocated < (64u << 10));
  CHECK(Samples(**restored) == Samples(*store));

  REQUIRE(VerifySnapshot(path).ok());
  CHECK(ThreadArenaIndex() == arena);
  CHECK(ScratchStats().memory.dirty == 0);
}

}  // namespace
}  // namespace keel::snapshot
