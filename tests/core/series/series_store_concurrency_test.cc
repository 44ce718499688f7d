#include <algorithm>
#include <atomic>
#include <bit>
#include <catch2/catch.hpp>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/series/selector.h"
#include "core/series/series_store.h"

namespace keel::core {
namespace {

constexpr int kSeries = 64;
constexpr int kSteps = 6000;
constexpr int64_t kStep = 1000;

double ValueAt(int series, int64_t t) {
  return static_cast<double>(series) * 1e6 + static_cast<double>(t) * 0.5;
}

// Labels sort by name: __name__, half, i.
int SeriesIndexOf(const Labels& labels) { return std::stoi(labels[2].value); }

TEST_CASE("appenders, readers, cuts and truncation run together") {
  SeriesStoreOptions options;
  options.chunk_window_ms = 100 * kStep;
  options.retention_windows = 4;
  options.max_chunk_samples = 40;
  SeriesStore store(options);
  std::vector<SeriesRef> refs(kSeries);
  for (int i = 0; i < kSeries; ++i) {
    refs[i] = *store.GetOrCreate({{"__name__", "m"},
                                  {"i", std::to_string(i)},
                                  {"half", i % 2 ? "odd" : "even"}});
  }
  std::atomic<bool> done{false};
  // Catch's REQUIRE is not thread-safe: threads count failures instead.
  std::atomic<int64_t> inconsistencies{0};
  std::atomic<int64_t> failed_appends{0};

  // The last time each appender (the two by ref, then the creator) has
  // appended, so that truncation never overtakes the slowest one (its
  // samples would be rejected as too old).
  std::atomic<int64_t> progress[3] = {0, 0, 0};

  // Two appenders on disjoint series: one by ref, one in batches.
  auto appender = [&](int parity) {
    std::vector<RefSample> batch;
    for (int step = 0; step < kSteps; ++step) {
      int64_t t = step * kStep;
      batch.clear();
      for (int i = parity; i < kSeries; i += 2) {
        if (parity == 0) {
          failed_appends += store.Append(refs[i], t, ValueAt(i, t)) !=
                            AppendResult::kAppended;
        } else {
          batch.push_back({refs[i], t, ValueAt(i, t)});
        }
      }
      if (!batch.empty()) {
        failed_appends += batch.size() - store.AppendBatch(batch);
      }
      progress[parity] = t;
    }
  };
  // A third appender creates and fills new series by labels.
  auto creator = [&] {
    for (int step = 0; step < kSteps; step += 10) {
      int64_t t = step * kStep;
      auto r = store.Append(
          {{"__name__", "made"}, {"n", std::to_string(step % 30)}}, t, 1.0);
      failed_appends += !r.ok() || *r != AppendResult::kAppended;
      progress[2] = t;
    }
  };
  // Readers check every sample they see against the formula.
  auto reader = [&] {
    auto matchers = *ParseSelector(R"(m{half=~"odd|even"})");
    while (!done.load()) {
      SeriesSet set = store.Select(matchers, 0, kSteps * kStep);
      for (const auto& e : set.series()) {
        int i = SeriesIndexOf(e.labels);
        int64_t last = -1;
        for (auto it = set.Samples(e); it.Next();) {
          if (it.t() <= last || it.v() != ValueAt(i, it.t())) ++inconsistencies;
          last = it.t();
        }
      }
      SeriesSet cut = store.Cut();
      (void)cut.sample_count();
      store.Stats();
    }
  };
  auto truncator = [&] {
    while (!done.load()) {
      int64_t slowest = std::min(
          {progress[0].load(), progress[1].load(), progress[2].load()});
      store.Truncate(slowest - 2 * options.chunk_window_ms);
      std::this_thread::yield();
    }
  };

  std::vector<std::thread> threads;
  threads.emplace_back(appender, 0);
  threads.emplace_back(appender, 1);
  threads.emplace_back(creator);
  std::thread read1(reader), read2(reader), trunc(truncator);
  for (auto& t : threads) t.join();
  done = true;
  read1.join();
  read2.join();
  trunc.join();
  REQUIRE(inconsistencies.load() == 0);
  REQUIRE(failed_appends.load() == 0);

  // What is left is exactly the windows the last truncation kept.
  int64_t before = (kSteps - 1) * kStep - 2 * options.chunk_window_ms;
  store.Truncate(before);
  int64_t first_kept = store.WindowOf(before) * options.chunk_window_ms;
  SeriesSet set = store.Select(*ParseSelector("m"), INT64_MIN, INT64_MAX);
  REQUIRE(set.series().size() == kSeries);
  for (const auto& e : set.series()) {
    int i = SeriesIndexOf(e.labels);
    int64_t want = first_kept;
    for (auto it = set.Samples(e); it.Next(); want += kStep) {
      REQUIRE(it.t() == want);
      REQUIRE(std::bit_cast<uint64_t>(it.v()) ==
              std::bit_cast<uint64_t>(ValueAt(i, want)));
    }
    REQUIRE(want == kSteps * kStep);
  }
}

// Other threads see a store under a bulk restore only whole: before
// BeginRestore, or after Finish.
TEST_CASE("a bulk restore is seen whole or not at all") {
  SeriesStore source;
  constexpr int kRestored = 300;
  for (int i = 0; i < kRestored; ++i) {
    SeriesRef r =
        *source.GetOrCreate({{"__name__", "m"}, {"i", std::to_string(i)}});
    for (int64_t t = 0; t < 200; ++t)
      source.Append(r, t * kStep, ValueAt(i, t));
  }
  SeriesSet cut = source.Cut();
  SeriesStore store;
  std::atomic<bool> done{false};
  std::atomic<int64_t> partial{0};
  std::atomic<int64_t> whole{0};
  // Each look must find nothing or everything (two looks in a row may
  // straddle Finish).
  auto look = [&](uint64_t found, uint64_t all) {
    if (found == all) {
      whole.fetch_add(1);
    } else if (found != 0) {
      partial.fetch_add(1);
    }
  };
  std::thread reader([&] {
    while (!done.load()) {
      look(store.Stats().chunks, cut.chunk_count());
      look(store
               .Select(*ParseSelector("{__name__=\"m\"}"), 0,
                       std::numeric_limits<int64_t>::max())
               .series()
               .size(),
           kRestored);
    }
  });
  std::vector<std::string> strings = {"__name__", "m", "i"};
  for (int i = 0; i < kRestored; ++i) strings.push_back(std::to_string(i));
  auto restorer =
      store.BeginRestore({strings.size(), kRestored, cut.chunk_count()});
  REQUIRE(restorer.ok());
  for (const std::string& s : strings) restorer->AddString(s);
  // Labels sort by name: __name__, i; series i becomes ref i.
  for (const auto& e : cut.series()) {
    auto i = static_cast<uint32_t>(std::stoi(e.labels[1].value));
    std::vector<RestoreLabel> labels = {{0, 1}, {2, 3 + i}};
    REQUIRE(restorer->AddSeries(labels).value_or(~i) == i);
  }
  for (const auto& e : cut.series()) {
    for (const ChunkData& c : e.chunks) {
      auto i = static_cast<SeriesRef>(std::stoi(e.labels[1].value));
      REQUIRE(restorer->AddChunk(i, c).ok());
    }
  }
  restorer->Finish();
  while (whole.load() == 0) std::this_thread::yield();
  done.store(true);
  reader.join();
  CHECK(partial.load() == 0);
}

}  // namespace
}  // namespace keel::core
