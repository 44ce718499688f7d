// SeriesStore under turnover while other threads append to every ref ever
// handed out, the dropped ones included: a dropped series' record is reused
// by a later series, and no append through a dropped ref may land in it.
// Run under TSan (scripts/test builds *_concurrency_test targets with it).
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/series/series_store.h"
#include "tests/core/series/series_store_testing.h"

namespace keel::core {
namespace {

using series_store_testing::kAll;
using series_store_testing::kNone;
using series_store_testing::Sel;

constexpr int64_t kWindow = 1000;
constexpr int64_t kStep = 50;
constexpr uint32_t kPerGeneration = 300;
constexpr uint32_t kGenerations = 16;

double Value(uint32_t id, int64_t t) {
  return static_cast<double>(id) * 1e6 + static_cast<double>(t);
}

TEST_CASE("appends through dropped refs never reach the series reusing them") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kWindow;
  options.retention_windows = 2;
  options.arena_name = "table_concurrency";
  SeriesStore store(options);

  // refs[id] for every series id created so far (published by `created`).
  std::vector<SeriesRef> refs(kGenerations * kPerGeneration);
  std::atomic<uint32_t> created{0};
  std::atomic<int64_t> now{0};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> unknown{0};
  std::vector<std::thread> appenders;
  for (int a = 0; a < 2; ++a) {
    appenders.emplace_back([&, a] {
      uint32_t id = a;
      while (!done.load()) {
        uint32_t n = created.load(std::memory_order_acquire);
        if (n == 0) continue;
        id = (id * 7 + 13) % n;
        int64_t t = now.load();
        if (store.Append(refs[id], t, Value(id, t)) ==
            AppendResult::kUnknownSeries) {
          ++unknown;
        }
      }
    });
  }

  // Generation g starts in window g; series i of it lives 1 + i % 3
  // windows, then retention drops it and later generations reuse records.
  for (uint32_t w = 0; w < kGenerations; ++w) {
    for (uint32_t i = 0; i < kPerGeneration; ++i) {
      uint32_t id = w * kPerGeneration + i;
      auto ref =
          store.GetOrCreate({{"__name__", "m"}, {"id", absl::StrCat(id)}});
      REQUIRE(ref.ok());
      refs[id] = *ref;
      created.store(id + 1, std::memory_order_release);
    }
    for (int64_t t = w * kWindow; t < (w + 1) * kWindow; t += kStep) {
      now.store(t);
      for (uint32_t gen = w >= 2 ? w - 2 : 0; gen <= w; ++gen) {
        for (uint32_t i = 0; i < kPerGeneration; ++i) {
          if (gen + i % 3 < w) continue;  // this series has ended
          uint32_t id = gen * kPerGeneration + i;
          AppendResult r = store.Append(refs[id], t, Value(id, t));
          REQUIRE(
              (r == AppendResult::kAppended || r == AppendResult::kDuplicate));
        }
      }
    }
    store.ApplyRetention((w + 1) * kWindow);
  }
  done = true;
  for (auto& t : appenders) t.join();

  REQUIRE(unknown.load() > 0);  // appenders did hit dropped refs
  SeriesStoreStats stats = store.Stats();
  REQUIRE(stats.dead_series > 0);
  SeriesSet set = store.Select(Sel(R"({__name__="m"})"), kNone, kAll);
  REQUIRE(set.series().size() == stats.series);
  for (const auto& e : set.series()) {
    uint32_t id = 0;
    REQUIRE(absl::SimpleAtoi(e.labels[1].value, &id));
    REQUIRE(e.ref == refs[id]);
    for (auto it = set.Samples(e); it.Next();) {
      REQUIRE(it.v() == Value(id, it.t()));
    }
  }
}

}  // namespace
}  // namespace keel::core
