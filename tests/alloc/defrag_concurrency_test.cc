// The Defragmenter moving objects while readers read them under their
// shard's shared lock and a writer replaces some; run under TSan.
#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>
#include <vector>

#include "alloc/defrag.h"
#include "alloc/stats.h"
#include "tests/alloc/defrag_objects.h"

namespace keel::alloc {
namespace {

constexpr std::size_t kSizes[] = {48, 128, 320};
constexpr std::size_t kShards = 8;

double Ratio(const MemoryStats& m) {
  return static_cast<double>(m.active) / static_cast<double>(m.allocated);
}

TEST_CASE("readers see intact objects while the defragmenter moves them") {
  Arena arena("defrag_concurrent");
  ObjectShards objects(arena, kShards);
  auto& shards = objects.shards();
  uint64_t seed = 0;
  for (std::size_t i = 0; i < 10000; ++i) {
    for (std::size_t size : kSizes) {
      shards[seed % kShards].objects.push_back(MakeObject(arena, size, seed));
      ++seed;
    }
  }
  std::mt19937_64 random(7);
  std::bernoulli_distribution doomed(0.65);
  for (auto& shard : shards) {
    for (TestObject& o : shard.objects) {
      if (doomed(random)) objects.Free(o);
    }
  }
  const double before = Ratio(CaptureArenaStats(arena).memory);
  REQUIRE(before >= 1.4);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, corrupt{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 pick(100 + t);
      while (!stop.load()) {
        auto& shard = shards[pick() % kShards];
        std::shared_lock lock(shard.mu);
        const TestObject& o = shard.objects[pick() % shard.objects.size()];
        if (o.data == nullptr) continue;
        if (Checksum(o.data, o.size) != o.checksum) corrupt.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  // A writer replacing objects: allocations and frees in the arena while
  // the defragmenter allocates and frees there too.
  threads.emplace_back([&] {
    std::mt19937_64 pick(99);
    while (!stop.load()) {
      auto& shard = shards[pick() % kShards];
      std::unique_lock lock(shard.mu);
      TestObject& o = shard.objects[pick() % shard.objects.size()];
      if (o.data == nullptr) continue;
      std::size_t size = o.size;
      objects.Free(o);
      o = MakeObject(arena, size, seed++);
    }
  });

  Defragmenter defrag(arena);
  const DefragBudget budget{.time = std::chrono::milliseconds(2),
                            .objects = 256};
  while (defrag.stats().runs < 3) defrag.RunSlice(objects, budget);
  stop.store(true);
  for (auto& th : threads) th.join();

  REQUIRE(reads.load() > 0);
  REQUIRE(corrupt.load() == 0);
  REQUIRE(objects.CountCorrupt() == 0);
  REQUIRE(defrag.stats().moved_objects > 0);
  // Alone, passes until one moves nothing bring the ratio down.
  uint64_t moved_last = 0;
  for (int pass = 0; pass < 8 && defrag.stats().moved_objects > moved_last;
       ++pass) {
    moved_last = defrag.stats().moved_objects;
    while (!defrag.RunSlice(objects)) {
    }
  }
  INFO("fragmentation " << before << " -> "
                        << Ratio(CaptureArenaStats(arena).memory));
  REQUIRE(Ratio(CaptureArenaStats(arena).memory) <= 1.1);
  REQUIRE(objects.CountCorrupt() == 0);
}

}  // namespace
}  // namespace keel::alloc
