// PrefixTable against a naive reference (a std::map of prefixes, brute-force
// queries): IPv4 and IPv6 in one table, random tables, random inserts and
// removals, every query and for_each; and its memory accounting.
#include "core/prefixes/prefix_table.h"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "alloc/purge.h"
#include "alloc/stats.h"
#include "core/ip.h"

namespace keel::core {
namespace {

using Table = PrefixTable<uint32_t>;
using Entry = std::pair<Prefix, uint32_t>;

class Harness {
 public:
  explicit Harness(uint64_t seed) : rng_(seed) {
    for (int i = 0; i < 8; ++i) {
      v4_bases_.push_back(static_cast<uint32_t>(rng_()));
      v6_bases_.push_back((static_cast<unsigned __int128>(rng_()) << 64) |
                          rng_());
    }
  }

  IpAddress RandomAddress() {
    bool v4 = rng_() % 2 == 0;
    int width = v4 ? 32 : 128;
    unsigned __int128 bits = v4 ? v4_bases_[rng_() % v4_bases_.size()]
                                : v6_bases_[rng_() % v6_bases_.size()];
    if (rng_() % 5 == 0)
      bits = (static_cast<unsigned __int128>(rng_()) << 64) | rng_();
    int flips = static_cast<int>(rng_() % 4);
    for (int i = 0; i < flips; ++i) {
      bits ^= static_cast<unsigned __int128>(1) << (rng_() % width);
    }
    if (v4) return Ipv4(static_cast<uint32_t>(bits));
    return Ipv6(bits);
  }
  Prefix RandomPrefix() {
    IpAddress a = RandomAddress();
    int width = a.bit_width();
    int length = rng_() % 3 == 0 ? static_cast<int>(rng_() % (width + 1))
                                 : static_cast<int>(rng_() % 33);
    if (rng_() % 4 == 0) length = width - static_cast<int>(rng_() % 9);
    return *Prefix::Make(a, length, /*mask_host_bits=*/true);
  }

  void Step() {
    Prefix p = RandomPrefix();
    if (rng_() % 3 == 0) {
      bool was = ref_.erase(p) > 0;
      REQUIRE(table_.Remove(p) == was);
    } else {
      uint32_t value = static_cast<uint32_t>(rng_());
      bool added = ref_.insert_or_assign(p, value).second;
      REQUIRE(table_.Insert(p, value) == added);
    }
  }

  std::optional<Entry> RefLongest(const IpAddress& a) const {
    std::optional<Entry> best;
    for (const auto& [p, v] : ref_) {
      if (p.Contains(a) && (!best || p.length() > best->first.length())) {
        best = Entry{p, v};
      }
    }
    return best;
  }

  void Check() {
    // Queries go through a Reader and through the table (a pin each,
    // nested in the reader's).
    const Table::Reader reader(table_);
    REQUIRE(table_.size() == ref_.size());
    std::vector<Entry> got(ref_.begin(), ref_.end()), all;
    table_.ForEach(
        [&](const Prefix& p, uint32_t v) { all.emplace_back(p, v); });
    REQUIRE(all == got);
    std::vector<Ipv4> v4_batch;
    std::vector<Ipv6> v6_batch;
    for (int q = 0; q < 30; ++q) {
      IpAddress a = RandomAddress();
      auto m = reader.Longest(a);
      auto want = RefLongest(a);
      REQUIRE(m.has_value() == want.has_value());
      if (m) {
        REQUIRE(m->prefix == want->first);
        REQUIRE(m->value == want->second);
      }
      if (a.is_v4())
        v4_batch.push_back(a.v4());
      else
        v6_batch.push_back(a.v6());

      Prefix p = RandomPrefix();
      auto it = ref_.find(p);
      REQUIRE(table_.Exact(p) ==
              (it == ref_.end() ? std::nullopt : std::optional(it->second)));

      std::vector<Entry> less, want_less, more, want_more;
      reader.LessSpecifics(
          p, [&](const Prefix& x, uint32_t v) { less.emplace_back(x, v); });
      table_.MoreSpecifics(
          p, [&](const Prefix& x, uint32_t v) { more.emplace_back(x, v); });
      for (const auto& [x, v] : ref_) {
        if (x.Contains(p)) want_less.emplace_back(x, v);
        if (p.Contains(x)) want_more.emplace_back(x, v);
      }
      std::stable_sort(want_less.begin(), want_less.end(),
                       [](const Entry& a, const Entry& b) {
                         return a.first.length() < b.first.length();
                       });
      REQUIRE(less == want_less);
      REQUIRE(more == want_more);
      auto longest_prefix = table_.Longest(p);
      REQUIRE(longest_prefix.has_value() == !want_less.empty());
      if (longest_prefix) {
        REQUIRE(longest_prefix->prefix == want_less.back().first);
        REQUIRE(longest_prefix->value == want_less.back().second);
      }
    }
    std::vector<std::optional<uint32_t>> r4(v4_batch.size()),
        r6(v6_batch.size());
    reader.LookupBatch(std::span<const Ipv4>(v4_batch), r4);
    table_.LookupBatch(std::span<const Ipv6>(v6_batch), r6);
    for (size_t i = 0; i < v4_batch.size(); ++i) {
      auto want = RefLongest(v4_batch[i]);
      REQUIRE(r4[i] == (want ? std::optional(want->second) : std::nullopt));
    }
    for (size_t i = 0; i < v6_batch.size(); ++i) {
      auto want = RefLongest(v6_batch[i]);
      REQUIRE(r6[i] == (want ? std::optional(want->second) : std::nullopt));
    }
  }

  Table& table() { return table_; }
  std::map<Prefix, uint32_t>& ref() { return ref_; }

 private:
  std::mt19937_64 rng_;
  std::vector<uint32_t> v4_bases_;
  std::vector<unsigned __int128> v6_bases_;
  Table table_;
  std::map<Prefix, uint32_t> ref_;
};

TEST_CASE("PrefixTable agrees with a naive reference", "[prefix_table]") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Harness h(seed);
    for (int round = 0; round < 20; ++round) {
      if (round % 3 == 0) {
        Table::Batch batch(h.table());
        for (int i = 0; i < 80; ++i) h.Step();
      } else {
        for (int i = 0; i < 40; ++i) h.Step();
      }
      h.Check();
    }
  }
}

TEST_CASE("queries read the published version, not an open batch",
          "[prefix_table]") {
  Table table;
  Prefix p = *Prefix::Parse("192.0.2.0/24");
  {
    Table::Batch batch(table);
    REQUIRE(table.Insert(p, 1));
    REQUIRE_FALSE(table.Exact(p).has_value());
    REQUIRE(table.size() == 0);
  }
  REQUIRE(table.Exact(p) == 1u);
  REQUIRE(table.size() == 1);
}

TEST_CASE("memory_bytes is the arena's allocations plus the object",
          "[prefix_table]") {
  Harness h(99);
  for (int i = 0; i < 2000; ++i) h.Step();
  Table& table = h.table();
  table.Reclaim();
  auto stats = alloc::CaptureArenaStats(table.arena());
  REQUIRE(table.memory_bytes() == stats.memory.allocated + sizeof(Table));
}

TEST_CASE("removing every prefix returns the arena to empty",
          "[prefix_table]") {
  Table table;
  alloc::Purge(table.arena());
  const uint64_t resident_empty =
      alloc::CaptureArenaStats(table.arena()).memory.resident;
  std::mt19937_64 rng(7);
  std::vector<Prefix> prefixes;
  {
    Table::Batch batch(table);
    for (int i = 0; i < 20000; ++i) {
      Prefix p = *Prefix::Make(Ipv4(static_cast<uint32_t>(rng())),
                               16 + static_cast<int>(rng() % 17), true);
      if (table.Insert(p, i)) prefixes.push_back(p);
    }
  }
  REQUIRE(alloc::CaptureArenaStats(table.arena()).memory.allocated > 100000);
  std::shuffle(prefixes.begin(), prefixes.end(), rng);
  for (size_t i = 0; i < prefixes.size(); ++i) {
    REQUIRE(table.Remove(prefixes[i]));
  }
  REQUIRE(table.size() == 0);
  table.Reclaim();
  alloc::Purge(table.arena());
  auto after = alloc::CaptureArenaStats(table.arena()).memory;
  REQUIRE(after.allocated == 0);
  REQUIRE(table.memory_bytes() == sizeof(Table));
  REQUIRE(after.resident <= resident_empty + resident_empty / 10);
}

}  // namespace
}  // namespace keel::core

namespace keel::core {
namespace {

struct Route {
  uint16_t origin_index;
  uint8_t flags;
};

TEST_CASE("values of other small trivially copyable types", "[prefix_table]") {
  PrefixTable<Route> routes;
  PrefixTable<double> weights;
  Prefix p = *Prefix::Parse("2001:db8::/32");
  Prefix q = *Prefix::Parse("2001:db8:1::/48");
  REQUIRE(routes.Insert(p, Route{7, 1}));
  REQUIRE(routes.Insert(q, Route{9, 2}));
  REQUIRE(weights.Insert(p, 0.5));
  auto m = routes.Longest(*IpAddress::Parse("2001:db8:1::1"));
  REQUIRE(m.has_value());
  CHECK(m->prefix == q);
  CHECK(m->value.origin_index == 9);
  CHECK(m->value.flags == 2);
  CHECK(weights.Exact(p) == 0.5);
  REQUIRE(routes.Remove(q));
  CHECK(
      routes.Longest(*IpAddress::Parse("2001:db8:1::1"))->value.origin_index ==
      7);
}

}  // namespace
}  // namespace keel::core
