// Readers racing one PrefixTable writer: every answer is whole (a value
// always belongs to the prefix it came with) and every for_each sees whole
// batches. Run under TSan in CI (label "concurrency").
#include <atomic>
#include <catch2/catch.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/ip.h"
#include "core/prefixes/prefix_table.h"

namespace keel::core {
namespace {

using Table = PrefixTable<uint64_t>;

// The value stored with each prefix: a function of the prefix, so that a
// reader can tell a torn or mismatched answer.
uint64_t ValueOf(const Prefix& p) {
  auto bits = p.address().bits();
  uint64_t h = static_cast<uint64_t>(bits) ^ static_cast<uint64_t>(bits >> 64);
  return (h * 0x9e3779b97f4a7c15ull) ^ static_cast<uint64_t>(p.length());
}

// Pair i: two prefixes far apart, always written in one batch.
Prefix PairA(int i) {
  return *Prefix::Make(Ipv4((10u << 24) | (static_cast<uint32_t>(i) << 16)),
                       16);
}
Prefix PairB(int i) {
  return *Prefix::Make(
      Ipv4((172u << 24) | (16u << 16) | (static_cast<uint32_t>(i) << 8)), 24);
}

TEST_CASE("readers see whole answers and whole batches while one writer runs",
          "[prefix_table][concurrency]") {
  Table table;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> checks{0};
  // Catch2 v2 assertions are not thread-safe: readers count failures here.
  std::atomic<uint64_t> failures{0};
  auto Expect = [&failures](bool ok) {
    if (!ok) failures.fetch_add(1, std::memory_order_relaxed);
  };

  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Ipv4> batch(64);
    std::vector<std::optional<uint64_t>> results(batch.size());
    for (uint64_t pass = 0; !stop.load(std::memory_order_relaxed); ++pass) {
      // Every other pass reads through one Reader held for the pass (queries
      // without a pin of their own), the others through the table.
      std::optional<Table::Reader> held;
      if (pass % 2 == 0) held.emplace(table);
      auto longest = [&](const auto& address) {
        return held ? held->Longest(address) : table.Longest(address);
      };
      for (int q = 0; q < 200; ++q) {
        uint32_t bits = rng() % 2 == 0
                            ? (10u << 24) | static_cast<uint32_t>(rng() >> 40)
                            : static_cast<uint32_t>(rng());
        if (auto m = longest(Ipv4(bits))) {
          Expect(m->value == ValueOf(m->prefix));
          Expect(m->prefix.Contains(IpAddress(Ipv4(bits))));
        }
        Ipv6 v6 = Ipv6::FromHalves(0x20010db800000000ull | (rng() & 0xffffffff),
                                   rng());
        if (auto m = longest(v6)) Expect(m->value == ValueOf(m->prefix));
      }
      for (auto& a : batch)
        a = Ipv4((10u << 24) | static_cast<uint32_t>(rng() >> 40));
      if (held) {
        held->LookupBatch(batch, results);
      } else {
        table.LookupBatch(batch, results);
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        if (results[i]) {
          auto m = longest(batch[i]);
          // The table may have moved on between the two reads; a value, when
          // there is one, still names some prefix of the table's history.
          if (m) Expect(m->value == ValueOf(m->prefix));
        }
      }
      std::set<int> a_seen, b_seen;
      auto visit = [&](const Prefix& p, uint64_t v) {
        Expect(v == ValueOf(p));
        uint32_t bits = p.address().v4().bits();
        if (p.length() == 16 && (bits >> 24) == 10) {
          a_seen.insert((bits >> 16) & 0xff);
        }
        if (p.length() == 24 && (bits >> 20) == 0xac1) {
          b_seen.insert((bits >> 8) & 0xff);
        }
      };
      const Prefix all = *Prefix::Parse("0.0.0.0/0");
      if (held) {
        held->MoreSpecifics(all, visit);
      } else {
        table.MoreSpecifics(all, visit);
      }
      Expect(a_seen == b_seen);
      checks.fetch_add(1, std::memory_order_relaxed);
    }
  };

  std::vector<std::thread> readers;
  for (uint64_t i = 0; i < 3; ++i) readers.emplace_back(reader, 100 + i);

  std::mt19937_64 rng(1);
  std::vector<bool> pair_present(256, false);
  // Write until the readers have run many full passes against the writes
  // (a bounded number of rounds either way, to stay fast under TSan).
  for (int round = 0; round < 4000 || (checks.load() < 300 && round < 400000);
       ++round) {
    int i = static_cast<int>(rng() % 256);
    {
      Table::Batch batch(table);
      if (pair_present[i]) {
        table.Remove(PairA(i));
        table.Remove(PairB(i));
      } else {
        table.Insert(PairA(i), ValueOf(PairA(i)));
        table.Insert(PairB(i), ValueOf(PairB(i)));
      }
      pair_present[i] = !pair_present[i];
    }
    // Unbatched writes of assorted prefixes, IPv4 and IPv6: mostly longer
    // than /16 (under a directory entry), some /9 to /15 (rewriting the
    // entries they cover).
    const int length = rng() % 8 == 0 ? 9 + static_cast<int>(rng() % 7)
                                      : 17 + static_cast<int>(rng() % 16);
    Prefix p = *Prefix::Make(
        Ipv4((10u << 24) | static_cast<uint32_t>(rng() >> 40)), length, true);
    if (rng() % 3 == 0) {
      table.Remove(p);
    } else {
      table.Insert(p, ValueOf(p));
    }
    Prefix q = *Prefix::Make(
        Ipv6::FromHalves(0x20010db800000000ull | (rng() & 0xffffffff), rng()),
        32 + static_cast<int>(rng() % 97), true);
    if (rng() % 3 == 0) {
      table.Remove(q);
    } else {
      table.Insert(q, ValueOf(q));
    }
  }
  // Let the readers see the final state at least once.
  uint64_t seen = checks.load();
  while (checks.load() < seen + 3) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  table.Reclaim();
  REQUIRE(checks.load() > 0);
  REQUIRE(failures.load() == 0);
}

}  // namespace
}  // namespace keel::core
