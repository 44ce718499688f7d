// SeriesStore::SealWindows beside appends and reads: a writer appends to
// every series in time order and now and then creates a series whose samples
// land in a window being sealed; readers select and decode the whole store
// and ranges inside sealed windows; a sealer seals whatever the writer's
// clock has left behind, sometimes told to stop half way. Every series a
// reader sees is an unbroken run of its samples from its first, bit for bit
// (a half-built window would show a gap, a repeat or a wrong value), and
// afterwards every sample reads back. Run under TSan (scripts/test builds
// *_concurrency_test targets with it).
#include <atomic>
#include <bit>
#include <catch2/catch.hpp>
#include <chrono>
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

constexpr int64_t kBase = 1700000000000;
constexpr int64_t kWindow = 1000;
constexpr int64_t kSteps = 1200;  // 10 ms apart: 12 windows
constexpr uint32_t kSeries = 64;
constexpr int64_t kLateEvery = 100;  // a late series every 100 steps
constexpr int64_t kLateBack = 150;   // its samples: steps s-150 to s-51
constexpr uint64_t kStaleMarker = 0x7ff0000000000002ull;

// A jittered 10 ms scrape: one in seven lands 3 ms late.
int64_t TimeOf(int64_t step) {
  return kBase + step * 10 + (step % 7 == 0 ? 3 : 0);
}

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Counters, decimal gauges, constants with stale markers and NaN payloads,
// and values with no decimal form: every branch of the sealed codec.
uint64_t BitsOf(uint32_t id, int64_t step) {
  switch (id % 4) {
    case 0:
      return std::bit_cast<uint64_t>(id * 1000.0 + step * 0.25);
    case 1:
      return std::bit_cast<uint64_t>(
          static_cast<double>((step * 7919 + id) % 1000) / 8);
    case 2:
      return step % 97 == 0   ? kStaleMarker
             : step % 89 == 0 ? 0x7ff8dead0000beefull
                              : std::bit_cast<uint64_t>(1.0);
    default:
      return Mix(id * 1000003ull + static_cast<uint64_t>(step));
  }
}

// Series id's steps: the first kSeries run from step 0; late series j
// (id kSeries + j) holds kLateBack - 50 steps ending 51 before step
// (j + 2) * kLateEvery, appended all at once at that step.
int64_t FirstStep(uint32_t id) {
  if (id < kSeries) return 0;
  return (id - kSeries + 2) * kLateEvery - kLateBack;
}

Labels LabelsOf(uint32_t id) {
  return {{"__name__", "m"}, {"id", absl::StrCat(id)}};
}

// Checks one selected series: empty, or what differs first (Catch2's macros
// are for the test's own thread only). With `whole`, also that every step
// the series should hold by the end is there.
std::string Damage(const SeriesSet& set, const SeriesSet::Entry& e,
                   int64_t mint, int64_t maxt, bool whole) {
  uint32_t id = 0;
  if (e.labels.size() != 2 || !absl::SimpleAtoi(e.labels[1].value, &id) ||
      e.labels != LabelsOf(id)) {
    return absl::StrCat("labels of ref ", e.ref);
  }
  int64_t step = FirstStep(id);
  while (TimeOf(step) < mint) ++step;
  for (auto it = set.Samples(e); it.Next(); ++step) {
    if (it.t() != TimeOf(step) ||
        std::bit_cast<uint64_t>(it.v()) != BitsOf(id, step)) {
      return absl::StrCat("id ", id, " step ", step, ": got ", it.t(), " want ",
                          TimeOf(step));
    }
  }
  int64_t end = id < kSeries ? kSteps : FirstStep(id) + kLateBack - 50;
  if (whole && step != end && TimeOf(step) <= maxt) {
    return absl::StrCat("id ", id, " ends at step ", step, " of ", end);
  }
  return "";
}

TEST_CASE("sealing beside appends and reads loses and tears nothing") {
  SeriesStoreOptions options;
  options.chunk_window_ms = kWindow;
  options.retention_windows = 100;
  options.arena_name = "seal_concurrency";
  // The defragmenter's thread is another test's subject (and reads
  // jemalloc's statistics, which TSan cannot see synchronised).
  options.defrag = false;
  SeriesStore store(options);

  std::atomic<int64_t> now{kBase};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> selections{0};
  std::atomic<uint64_t> seal_calls{0};
  std::atomic<uint64_t> stopped_calls{0};
  std::mutex damage_mu;
  std::string damage;
  auto report = [&](std::string d) {
    std::lock_guard lock(damage_mu);
    if (damage.empty()) damage = std::move(d);
  };
  // Catch2's assertions (Sel's) only on the test's own thread.
  const std::vector<Matcher> selector = Sel(R"({__name__="m"})");
  std::vector<std::thread> threads;
  // A reader of everything, and one of a range that moves with the clock
  // over windows just sealed.
  threads.emplace_back([&] {
    while (!done.load()) {
      SeriesSet set = store.Select(selector, kNone, kAll);
      for (const auto& e : set.series()) {
        if (std::string d = Damage(set, e, kNone, kAll, false); !d.empty()) {
          report(std::move(d));
        }
      }
      ++selections;
    }
  });
  threads.emplace_back([&] {
    while (!done.load()) {
      int64_t maxt = now.load() - 2 * kWindow;
      int64_t mint = maxt - kWindow + 437;
      SeriesSet set = store.Select(selector, mint, maxt);
      for (const auto& e : set.series()) {
        if (std::string d = Damage(set, e, mint, maxt, false); !d.empty()) {
          report(std::move(d));
        }
      }
    }
  });
  // Every third call is told to stop after a few stripes: the window it
  // was building is dropped and sealed by a later call.
  threads.emplace_back([&] {
    for (uint64_t call = 0; !done.load(); ++call) {
      if (call % 3 == 2) {
        int asked = 0;
        store.SealWindows(now.load(), [&] { return ++asked > 5; });
        ++stopped_calls;
      } else {
        store.SealWindows(now.load());
      }
      ++seal_calls;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  uint64_t sealed_meanwhile = 0;
  std::vector<SeriesRef> refs;
  for (uint32_t id = 0; id < kSeries; ++id) {
    auto ref = store.GetOrCreate(LabelsOf(id));
    REQUIRE(ref.ok());
    refs.push_back(*ref);
  }
  for (int64_t step = 0; step < kSteps; ++step) {
    for (uint32_t id = 0; id < kSeries; ++id) {
      REQUIRE(store.Append(refs[id], TimeOf(step),
                           std::bit_cast<double>(BitsOf(id, step))) ==
              AppendResult::kAppended);
    }
    if (step >= 2 * kLateEvery && step % kLateEvery == 0) {
      uint32_t id = kSeries + static_cast<uint32_t>(step / kLateEvery) - 2;
      auto ref = store.GetOrCreate(LabelsOf(id));
      REQUIRE(ref.ok());
      for (int64_t s = FirstStep(id); s < step - 50; ++s) {
        REQUIRE(store.Append(*ref, TimeOf(s),
                             std::bit_cast<double>(BitsOf(id, s))) ==
                AppendResult::kAppended);
      }
    }
    now.store(TimeOf(step));
    if (step % kLateEvery == 50) {
      // Sealing keeps pace: the writer meets it in every window.
      uint64_t calls = seal_calls.load();
      while (seal_calls.load() < calls + 3) std::this_thread::yield();
      sealed_meanwhile = store.GetSealedStats().windows;
    }
  }
  // Sealing ran beside the writer, not only after it.
  CHECK(sealed_meanwhile == kSteps * 10 / kWindow - 1);
  uint64_t seen = selections.load();
  while (selections.load() < seen + 2 || stopped_calls.load() < 2) {
    std::this_thread::yield();
  }
  done = true;
  for (auto& t : threads) t.join();

  REQUIRE(damage == "");
  store.SealWindows(kAll);
  SeriesStore::SealedStats sealed = store.GetSealedStats();
  CHECK(sealed.windows >= kSteps * 10 / kWindow - 1);
  CHECK(sealed.samples > kSeries * (kSteps - 2 * kWindow / 10));
  SeriesSet set = store.Select(selector, kNone, kAll);
  REQUIRE(set.series().size() == kSeries + (kSteps - 1) / kLateEvery - 1);
  for (const auto& e : set.series()) {
    REQUIRE(Damage(set, e, kNone, kAll, true) == "");
  }
}

}  // namespace
}  // namespace keel::core
