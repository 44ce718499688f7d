// ForwardSplitCache: a record split by shard holds each entry once, in its
// shard (hash % shards) and in record order; the shards asking for the same
// record at once share one load; past its budget the cache drops the
// oldest records and loads them again when asked.
#include "tools/server/forward/forward_split_cache.h"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "remote_write.pb.h"
#include "tests/testing/temp_dir.h"
#include "tests/tools/server/forward/numbered_record.h"

namespace keel::tools {
namespace {

using testing::TempDir;

// `series` series of one sample each, series i valued i at 1000 + i.
ForwardRecord MakeRecord(int series) {
  return NumberedRecord(
      series, [](int i) { return std::pair<int64_t, double>(1000 + i, i); });
}

struct Fixture {
  TempDir dir{"forward_split_cache"};
  alloc::Arena arena{"forward_split_cache_test"};
  std::unique_ptr<ForwardQueue> queue;
  std::vector<uint64_t> positions;  // of the records appended

  explicit Fixture(int records, int series = 100) {
    auto q = ForwardQueue::Open({.dir = dir.path() + "/q"}, &arena);
    REQUIRE(q.ok());
    queue = *std::move(q);
    for (int r = 0; r < records; ++r) {
      positions.push_back(queue->end());
      REQUIRE(queue->Append(MakeRecord(series)).ok());
    }
  }
};

TEST_CASE("each entry once, in its shard, in record order") {
  Fixture f(1);
  constexpr uint32_t kShards = 3;
  auto split = SplitRecord::Load(*f.queue, f.positions[0], kShards);
  REQUIRE(split.ok());
  CHECK((*split)->next() == f.queue->end());
  std::vector<uint32_t> shard_of;
  REQUIRE(
      ForEachForwardEntry(MakeRecord(100).bytes(), [&](size_t,
                                                       const ForwardEntry& e) {
        shard_of.push_back(e.hash % kShards);
        return true;
      }).ok());
  std::vector<int> seen(100, 0);
  size_t nonempty = 0;
  for (uint32_t s = 0; s < kShards; ++s) {
    std::span<const SplitEntry> entries = (*split)->shard(s);
    nonempty += entries.empty() ? 0 : 1;
    for (size_t k = 0; k < entries.size(); ++k) {
      const SplitEntry& e = entries[k];
      INFO("shard " << s << " entry " << e.index);
      if (k > 0) CHECK(entries[k - 1].index < e.index);
      REQUIRE(e.index < 100);
      CHECK(shard_of[e.index] == s);
      ++seen[e.index];
      CHECK(e.samples == 1);
      CHECK(e.max_timestamp_ms == 1000 + e.index);
      prompb::TimeSeries series;
      REQUIRE(series.ParseFromString(std::string((*split)->series(e))));
      REQUIRE(series.labels_size() == 2);
      CHECK(series.labels(1).value() == std::to_string(e.index));
      CHECK(series.samples(0).value() == e.index);
    }
  }
  CHECK(nonempty == kShards);  // 100 series spread over all three
  for (int i = 0; i < 100; ++i) CHECK(seen[i] == 1);
}

TEST_CASE("shards asking for one record share one load") {
  Fixture f(1, 5000);
  ForwardSplitCache cache(f.queue.get(), 4, uint64_t{16} << 20);
  std::vector<std::shared_ptr<const SplitRecord>> got(4);
  std::vector<std::thread> shards;
  for (int s = 0; s < 4; ++s) {
    shards.emplace_back([&, s] {
      auto split = cache.Get(f.positions[0]);
      REQUIRE(split.ok());
      got[s] = *split;
    });
  }
  for (auto& t : shards) t.join();
  CHECK(cache.gets() == 4);
  CHECK(cache.loads() == 1);
  for (int s = 1; s < 4; ++s) CHECK(got[s] == got[0]);
}

TEST_CASE("past its budget the cache drops the oldest, loads it again") {
  Fixture f(3);
  // A budget below one record: only the newest loaded stays.
  ForwardSplitCache cache(f.queue.get(), 2, 1);
  for (uint64_t p : f.positions) REQUIRE(cache.Get(p).ok());
  CHECK(cache.loads() == 3);
  auto newest = cache.Get(f.positions[2]);
  REQUIRE(newest.ok());
  CHECK(cache.loads() == 3);
  auto oldest = cache.Get(f.positions[0]);  // into an evicted one's buffers
  REQUIRE(oldest.ok());
  CHECK(cache.loads() == 4);
  CHECK(cache.gets() == 5);
  CHECK((*oldest)->position() == f.positions[0]);
  CHECK((*oldest)->next() == f.positions[1]);
  size_t entries = 0;
  for (uint32_t s = 0; s < 2; ++s) entries += (*oldest)->shard(s).size();
  CHECK(entries == 100);
  // An error is the queue's, and nothing is cached.
  CHECK_FALSE(cache.Get(f.queue->end()).ok());
  CHECK_FALSE(cache.Get(f.queue->end()).ok());
}

}  // namespace
}  // namespace keel::tools
