// SeriesStore under turnover with its defragmenter running: readers select
// and decode while a writer creates, appends to and retires generations of
// series, the background runner works at full effort (memory pressure) and
// another thread asks for whole passes. Every label and sample a reader sees
// is the one written; the defragmenter moves bytes meanwhile. Run under TSan
// (scripts/test builds *_concurrency_test targets with it).
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <mutex>
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
constexpr uint32_t kPerGeneration = 600;
constexpr int kGenerations = 24;

double Value(uint32_t gen, uint32_t i, int64_t t) {
  return static_cast<double>(gen) * 1e9 + i * 1e4 + static_cast<double>(t);
}

Labels LabelsOf(uint32_t gen, uint32_t i) {
  return {{"__name__", "m"},
          {"gen", absl::StrCat(gen)},
          {"i", absl::StrCat(i)},
          {"pod", absl::StrCat("pod-", gen, "-", i % 37)}};
}

// Checks one selected series against what the writer wrote: empty, or what
// differs first (Catch2's macros are for the test's own thread only).
std::string Damage(const SeriesSet& set, const SeriesSet::Entry& e) {
  uint32_t gen = 0, i = 0;
  if (e.labels.size() != 4 || !absl::SimpleAtoi(e.labels[1].value, &gen) ||
      !absl::SimpleAtoi(e.labels[2].value, &i) ||
      e.labels != LabelsOf(gen, i)) {
    return absl::StrCat("labels of ref ", e.ref);
  }
  int64_t last = kNone;
  for (auto it = set.Samples(e); it.Next();) {
    if (it.t() <= last || it.t() % kStep != 0 ||
        it.v() != Value(gen, i, it.t())) {
      return absl::StrCat("gen ", gen, " i ", i, " at ", it.t(), ": ", it.v());
    }
    last = it.t();
  }
  return "";
}

TEST_CASE("turnover with the defragmenter running keeps every byte readable") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kWindow;
  options.retention_windows = 2;
  options.max_chunk_samples = 2;  // sealed arrays grow and shrink often
  options.defrag = true;
  options.arena_name = "defrag_concurrency";
  SeriesStore store(options);
  store.SetMemoryPressure(true);

  std::atomic<bool> done{false};
  std::atomic<uint64_t> selections{0};
  std::mutex damage_mu;
  std::string damage;
  // Parsed here: Sel asserts, and Catch2's assertions are for one thread.
  const std::vector<Matcher> selector = Sel(R"({__name__="m"})");
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        SeriesSet set = store.Select(selector, kNone, kAll);
        for (const auto& e : set.series()) {
          if (std::string d = Damage(set, e); !d.empty()) {
            std::lock_guard lock(damage_mu);
            if (damage.empty()) damage = d;
          }
        }
        ++selections;
      }
    });
  }
  std::thread passes([&] {
    while (!done.load()) {
      store.Defragment();
      std::this_thread::yield();
    }
  });

  // Generation g starts in window g; series i of it lives 1 + i % 3
  // windows, so each retention drop frees a scattered part of several
  // generations.
  std::vector<std::vector<SeriesRef>> refs(kGenerations);
  for (uint32_t w = 0; w < kGenerations; ++w) {
    for (uint32_t i = 0; i < kPerGeneration; ++i) {
      auto ref = store.GetOrCreate(LabelsOf(w, i));
      REQUIRE(ref.ok());
      refs[w].push_back(*ref);
    }
    for (int64_t t = w * kWindow; t < (w + 1) * kWindow; t += kStep) {
      for (uint32_t gen = w >= 2 ? w - 2 : 0; gen <= w; ++gen) {
        for (uint32_t i = 0; i < kPerGeneration; ++i) {
          if (gen + i % 3 < w) continue;  // this series has ended
          REQUIRE(store.Append(refs[gen][i], t, Value(gen, i, t)) ==
                  AppendResult::kAppended);
        }
      }
    }
    store.ApplyRetention((w + 1) * kWindow);
  }
  // Let readers see the final state a few times with the runner going.
  uint64_t seen = selections.load();
  while (selections.load() < seen + 4) std::this_thread::yield();
  done = true;
  for (auto& t : readers) t.join();
  passes.join();

  REQUIRE(damage == "");
  REQUIRE(store.defrag_stats().moved_bytes > 0);
  SeriesSet set = store.Select(Sel(R"({__name__="m"})"), kNone, kAll);
  REQUIRE_FALSE(set.series().empty());
  for (const auto& e : set.series()) REQUIRE(Damage(set, e) == "");
}

}  // namespace
}  // namespace keel::core
