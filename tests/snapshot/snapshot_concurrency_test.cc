// Snapshots taken while appenders run: each series in a snapshot holds a
// gap-free prefix of what was appended to it (a consistent cut per series),
// and the snapshot restores.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/series/series_store.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tests/testing/temp_dir.h"

namespace keel::snapshot {
namespace {

constexpr int64_t kStart = 1'700'006'400'000;
constexpr int64_t kStep = 15'000;
constexpr int kSeries = 64;

double ValueAt(int series, int64_t k) {
  return static_cast<double>(series * 1000 + k % 97);
}

TEST_CASE("snapshots taken during appends hold a prefix of every series",
          "[snapshot][concurrency]") {
  testing::TempDir temp("snapshot_concurrency");
  const std::string& dir = temp.path();
  core::SeriesStoreOptions options;
  options.chunk_window_ms = 3600 * 1000;
  core::SeriesStore store(options);
  std::vector<core::SeriesRef> refs;
  for (int i = 0; i < kSeries; ++i) {
    refs.push_back(
        store.GetOrCreate({{"__name__", "m"}, {"i", std::to_string(i)}})
            .value());
  }
  // The first sample of every series before the threads start: a cut
  // lists only series holding samples, and a loaded machine may start the
  // appenders late.
  for (int i = 0; i < kSeries; ++i)
    store.Append(refs[i], kStart, ValueAt(i, 0));
  std::atomic<bool> stop{false};
  std::vector<std::thread> appenders;
  for (int w = 0; w < 2; ++w) {
    appenders.emplace_back([&, w] {
      for (int64_t k = 1; !stop.load(std::memory_order_relaxed) && k < 20000;
           ++k) {
        for (int i = w; i < kSeries; i += 2) {
          store.Append(refs[i], kStart + k * kStep, ValueAt(i, k));
        }
      }
    });
  }
  std::vector<std::string> paths;
  for (int n = 0; n < 3; ++n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::string path = dir + "/s" + std::to_string(n);
    REQUIRE(WriteSnapshot(store, path).ok());
    paths.push_back(path);
  }
  stop = true;
  for (auto& t : appenders) t.join();

  for (const std::string& path : paths) {
    auto restored = RestoreSnapshot(path, options);
    REQUIRE(restored.ok());
    core::SeriesSet cut = (*restored)->Cut();
    REQUIRE(cut.series().size() == kSeries);
    for (const auto& e : cut.series()) {
      int series = std::stoi(e.labels[1].value);
      int64_t k = 0;
      int64_t mismatches = 0;
      for (auto it = cut.Samples(e); it.Next(); ++k) {
        mismatches +=
            it.t() != kStart + k * kStep || it.v() != ValueAt(series, k);
      }
      INFO("series " << series << " of " << path);
      CHECK(mismatches == 0);
      CHECK(k > 0);
    }
  }
}

}  // namespace
}  // namespace keel::snapshot
