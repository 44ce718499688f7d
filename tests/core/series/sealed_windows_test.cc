#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/stats.h"
#include "alloc/thread_arena.h"
#include "core/series/selector.h"
#include "core/series/series_store.h"

namespace keel::core {
namespace {

constexpr int64_t kWindow = 60000;
constexpr uint64_t kStaleMarker = 0x7ff0000000000002ull;

struct Sample {
  int64_t t;
  uint64_t bits;
};
using Expected = std::map<SeriesRef, std::vector<Sample>>;

SeriesStoreOptions Options() {
  SeriesStoreOptions o;
  o.chunk_window_ms = kWindow;
  o.retention_windows = 100;
  o.arena_name = "sealed_windows_test";
  return o;
}

// Every sample of every series, read through Select and SampleIterator,
// bit for bit what was appended.
void RequireAll(const SeriesStore& store, const Expected& expected) {
  auto all = ParseSelector(R"({__name__=~".+"})");
  REQUIRE(all.ok());
  SeriesSet set = store.Select(*all, INT64_MIN, INT64_MAX);
  REQUIRE(set.series().size() == expected.size());
  for (const auto& entry : set.series()) {
    const std::vector<Sample>& want = expected.at(entry.ref);
    std::size_t i = 0;
    for (auto it = set.Samples(entry); it.Next(); ++i) {
      REQUIRE(i < want.size());
      INFO("series " << entry.ref << " sample " << i);
      REQUIRE(it.t() == want[i].t);
      REQUIRE(std::bit_cast<uint64_t>(it.v()) == want[i].bits);
    }
    REQUIRE(i == want.size());
  }
}

// 40 series over five windows: counters, gauges with decimals, constants
// with stale markers and NaN payloads, jittered 1 s scrapes.
Expected Fill(SeriesStore& store, int windows = 5) {
  Expected expected;
  std::mt19937_64 rng(18);
  std::vector<SeriesRef> refs;
  for (int i = 0; i < 40; ++i) {
    auto ref = store.GetOrCreate(
        {{"__name__", absl::StrCat("m", i % 4)}, {"i", absl::StrCat(i)}});
    REQUIRE(ref.ok());
    refs.push_back(*ref);
  }
  double counter = 0;
  for (int64_t step = 0; step < windows * kWindow / 1000; ++step) {
    int64_t scrape = 1700000000000 + step * 1000 + (rng() % 10 == 0 ? 3 : 0);
    for (int i = 0; i < 40; ++i) {
      uint64_t bits;
      switch (i % 4) {
        case 0:
          counter += static_cast<double>(rng() % 100) / 100;
          bits = std::bit_cast<uint64_t>(counter + i);
          break;
        case 1:
          bits = std::bit_cast<uint64_t>(static_cast<double>(rng() % 1000) / 8);
          break;
        case 2:
          bits = step % 97 == 0   ? kStaleMarker
                 : step % 89 == 0 ? 0x7ff8dead0000beefull
                                  : std::bit_cast<uint64_t>(1.0);
          break;
        default:
          bits = rng();  // no decimal form: XOR values
      }
      REQUIRE(store.Append(refs[i], scrape, std::bit_cast<double>(bits)) ==
              AppendResult::kAppended);
      expected[refs[i]].push_back({scrape, bits});
    }
  }
  return expected;
}

TEST_CASE("sealing re-encodes every window before the newest, losslessly") {
  SeriesStore store(Options());
  Expected expected = Fill(store);
  SeriesStoreStats before = store.Stats();
  CHECK(store.GetSealedStats().samples == 0);
  std::size_t sealed = store.SealWindows(INT64_MAX);
  CHECK(sealed >= 4);
  SeriesStoreStats after = store.Stats();
  SeriesStore::SealedStats sealed_stats = store.GetSealedStats();
  CHECK(after.samples == before.samples);
  CHECK(sealed_stats.samples > before.samples * 3 / 4);
  CHECK(sealed_stats.windows == sealed);
  CHECK(after.chunk_bytes < before.chunk_bytes);
  CHECK(after.chunks <= before.chunks);
  RequireAll(store, expected);
  // Sealed windows stay sealed; nothing more to do.
  CHECK(store.SealWindows(INT64_MAX) == 0);
}

// keel serve seals from its background thread once a window closes: the
// compression context (MiBs at the store's level) and the checks' decoded
// frames must not stay resident there from one pass to the next.
TEST_CASE("a sealing pass leaves nothing allocated on its thread") {
  SeriesStore store(Options());
  Expected expected = Fill(store);
  alloc::ThreadArena& pass = alloc::ThreadArena::Named("sealed_windows_pass");
  std::size_t sealed = 0;
  uint64_t left = UINT64_MAX;
  // A thread of its own, in a Scope as the server's loop runs a pass: a
  // fresh thread's state, and its cache flushed as the pass ends.
  std::thread([&] {
    {
      alloc::ThreadArena::Scope scope(pass);
      sealed = store.SealWindows(INT64_MAX);
    }
    for (const alloc::ArenaStats& a : alloc::CaptureStats().arenas) {
      if (a.name == "sealed_windows_pass") left = a.memory.allocated;
    }
  }).join();
  CHECK(sealed >= 4);
  // (Under ASan, plain malloc is the sanitizer's: the arena stays empty.)
  CHECK(left < (64u << 10));
  RequireAll(store, expected);
}

TEST_CASE("appends after sealing see the sealed samples") {
  SeriesStore store(Options());
  Expected expected = Fill(store, 2);
  // Series 0 gets nothing more: its last sample sits in a sealed window
  // once the clock passes it.
  int64_t later = 1700000000000 + 10 * kWindow;
  for (auto& [ref, samples] : expected) {
    if (ref == 0) continue;
    REQUIRE(store.Append(ref, later, 2.5) == AppendResult::kAppended);
    samples.push_back({later, std::bit_cast<uint64_t>(2.5)});
  }
  REQUIRE(store.SealWindows(INT64_MAX) >= 2);
  const Sample last = expected[0].back();
  CHECK(store.Append(0, last.t, std::bit_cast<double>(last.bits)) ==
        AppendResult::kDuplicate);
  CHECK(store.Append(0, last.t, 12345.0) == AppendResult::kConflict);
  CHECK(store.Append(0, last.t - 1, 1.0) == AppendResult::kOutOfOrder);
  // A late sample in a sealed window starts an XOR chunk there.
  REQUIRE(store.Append(0, last.t + 1, 7.0) == AppendResult::kAppended);
  expected[0].push_back({last.t + 1, std::bit_cast<uint64_t>(7.0)});
  RequireAll(store, expected);
  SeriesStore::SealedStats sealed = store.GetSealedStats();
  CHECK(store.SealWindows(INT64_MAX) == 0);
  CHECK(store.GetSealedStats().samples == sealed.samples);
  RequireAll(store, expected);
}

TEST_CASE("a set taken before sealing and truncation stays readable") {
  SeriesStore store(Options());
  Expected expected = Fill(store);
  auto all = ParseSelector(R"({__name__=~".+"})");
  REQUIRE(all.ok());
  SeriesSet before = store.Select(*all, INT64_MIN, INT64_MAX);
  REQUIRE(store.SealWindows(INT64_MAX) >= 4);
  SeriesSet sealed = store.Select(*all, INT64_MIN, INT64_MAX);
  store.Truncate(1700000000000 + 4 * kWindow);
  for (const SeriesSet* set : {&before, &sealed}) {
    for (const auto& entry : set->series()) {
      const std::vector<Sample>& want = expected.at(entry.ref);
      std::size_t i = 0;
      for (auto it = set->Samples(entry); it.Next(); ++i) {
        REQUIRE(i < want.size());
        REQUIRE(it.t() == want[i].t);
        REQUIRE(std::bit_cast<uint64_t>(it.v()) == want[i].bits);
      }
      REQUIRE(i == want.size());
    }
  }
}

TEST_CASE("a range inside sealed windows yields only its samples") {
  SeriesStore store(Options());
  Expected expected = Fill(store);
  REQUIRE(store.SealWindows(INT64_MAX) >= 4);
  int64_t mint = 1700000000000 + 61500;
  int64_t maxt = 1700000000000 + 150250;
  auto all = ParseSelector(R"({__name__=~".+"})");
  REQUIRE(all.ok());
  SeriesSet set = store.Select(*all, mint, maxt);
  for (const auto& entry : set.series()) {
    std::vector<Sample> want;
    for (const Sample& s : expected.at(entry.ref)) {
      if (s.t >= mint && s.t <= maxt) want.push_back(s);
    }
    std::size_t i = 0;
    for (auto it = set.Samples(entry); it.Next(); ++i) {
      REQUIRE(i < want.size());
      REQUIRE(it.t() == want[i].t);
      REQUIRE(std::bit_cast<uint64_t>(it.v()) == want[i].bits);
    }
    REQUIRE(i == want.size());
  }
}

}  // namespace
}  // namespace keel::core
