// Randomized differential tests of the raw-key trie behind PrefixTable
// against a naive reference: a std::map of prefixes and brute-force queries.
#include "core/prefixes/internal/prefix_trie.h"

#include <bit>
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "alloc/arena.h"
#include "core/prefixes/internal/epoch_domain.h"

namespace keel::core::core_internal {
namespace {

// IPv4 tries hold 32-bit values, which directory leaves keep in their word;
// IPv6 tries hold 64-bit ones, which leaves keep beside it.
template <class Key>
using Value = std::conditional_t<sizeof(Key) == 4, uint32_t, uint64_t>;

template <class Key>
struct Reference {
  static constexpr int kBits = sizeof(Key) * 8;
  // Ordered as the trie visits: by address, then shorter first.
  std::map<std::pair<Key, int>, Value<Key>> prefixes;

  static Key Mask(int length) {
    return length == 0 ? Key{0} : ~Key{0} << (kBits - length);
  }
  static bool Covers(Key key, int length, Key inner, int inner_length) {
    return length <= inner_length && (inner & Mask(length)) == key;
  }
  std::optional<std::pair<int, Value<Key>>> Longest(Key address) const {
    std::optional<std::pair<int, Value<Key>>> best;
    for (const auto& [p, v] : prefixes) {
      if (Covers(p.first, p.second, address, kBits) &&
          (!best || p.second > best->first)) {
        best = std::pair{p.second, v};
      }
    }
    return best;
  }
};

using Entry = std::tuple<unsigned __int128, int, uint64_t>;

template <class Key>
class Harness {
 public:
  static constexpr int kBits = sizeof(Key) * 8;

  explicit Harness(uint64_t seed) : rng_(seed), trie_(arena_) {
    // A few base addresses so that prefixes nest and share nodes.
    for (int i = 0; i < 12; ++i) bases_.push_back(RandomKey());
  }

  Key RandomKey() {
    unsigned __int128 k =
        (static_cast<unsigned __int128>(rng_()) << 64) | rng_();
    return static_cast<Key>(k);
  }
  // A random prefix near one of the bases, of any length.
  std::pair<Key, int> RandomPrefix() {
    Key key = bases_[rng_() % bases_.size()];
    int flips = static_cast<int>(rng_() % 3);
    for (int i = 0; i < flips; ++i) key ^= Key{1} << (rng_() % kBits);
    int length;
    switch (rng_() % 4) {
      case 0:
        length = static_cast<int>(rng_() % (kBits + 1));
        break;
      case 1:
        length = static_cast<int>(rng_() % 5) * 8;
        break;
      case 2:
        length = kBits - static_cast<int>(rng_() % 9);
        break;
      default:
        length = static_cast<int>(rng_() % 33);
        break;
    }
    return {key & Reference<Key>::Mask(length), length};
  }
  Key RandomAddress() {
    Key key = rng_() % 4 == 0 ? RandomKey() : bases_[rng_() % bases_.size()];
    int flips = static_cast<int>(rng_() % 4);
    for (int i = 0; i < flips; ++i) key ^= Key{1} << (rng_() % kBits);
    return key;
  }

  void Step() {
    auto [key, length] = RandomPrefix();
    if (rng_() % 3 == 0) {
      bool was = ref_.prefixes.erase({key, length}) > 0;
      REQUIRE(trie_.Remove(key, length) == was);
    } else {
      Value<Key> value = static_cast<Value<Key>>(rng_());
      bool added = ref_.prefixes.insert_or_assign({key, length}, value).second;
      REQUIRE(trie_.Insert(key, length, value) == added);
    }
  }

  void Check() {
    EpochGuard guard;
    REQUIRE(trie_.size() == ref_.prefixes.size());
    std::vector<Entry> got, want;
    trie_.ForEach(
        [&](Key k, int l, Value<Key> v) { got.emplace_back(k, l, v); });
    for (const auto& [p, v] : ref_.prefixes)
      want.emplace_back(p.first, p.second, v);
    REQUIRE(got == want);
    for (int q = 0; q < 40; ++q) {
      Key address = RandomAddress();
      const auto hit = trie_.Find(address);
      auto expected = ref_.Longest(address);
      REQUIRE((hit.length >= 0) == expected.has_value());
      if (expected) {
        REQUIRE(hit.length == expected->first);
        REQUIRE(hit.value == expected->second);
      }
      std::optional<Value<Key>> batch[1];
      trie_.LongestBatch(&address, 1, batch);
      REQUIRE(batch[0] ==
              (expected ? std::optional(expected->second) : std::nullopt));

      auto [key, length] = RandomPrefix();
      auto it = ref_.prefixes.find({key, length});
      auto exact = trie_.Exact(key, length);
      REQUIRE(exact == (it == ref_.prefixes.end() ? std::nullopt
                                                  : std::optional(it->second)));

      std::vector<Entry> less, want_less;
      trie_.LessSpecifics(key, length, [&](Key k, int l, Value<Key> v) {
        less.emplace_back(k, l, v);
      });
      for (const auto& [p, v] : ref_.prefixes) {
        if (Reference<Key>::Covers(p.first, p.second, key, length)) {
          want_less.emplace_back(p.first, p.second, v);
        }
      }
      std::sort(want_less.begin(), want_less.end(),
                [](const Entry& a, const Entry& b) {
                  return std::get<1>(a) < std::get<1>(b);
                });
      REQUIRE(less == want_less);

      std::vector<Entry> more, want_more;
      trie_.MoreSpecifics(key, length, [&](Key k, int l, Value<Key> v) {
        more.emplace_back(k, l, v);
      });
      for (const auto& [p, v] : ref_.prefixes) {
        if (Reference<Key>::Covers(key, length, p.first, p.second)) {
          want_more.emplace_back(p.first, p.second, v);
        }
      }
      REQUIRE(more == want_more);
    }
    // Batch lookups across groups (64 keys) and a partial one.
    std::vector<Key> addresses(150);
    for (Key& a : addresses) a = RandomAddress();
    std::vector<std::optional<Value<Key>>> results(addresses.size());
    trie_.LongestBatch(addresses.data(), addresses.size(), results.data());
    for (size_t i = 0; i < addresses.size(); ++i) {
      auto expected = ref_.Longest(addresses[i]);
      REQUIRE(results[i] ==
              (expected ? std::optional(expected->second) : std::nullopt));
    }
  }

  PrefixTrie<Key, Value<Key>>& trie() { return trie_; }
  Reference<Key>& ref() { return ref_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  alloc::Arena arena_{"prefix_trie_test"};
  PrefixTrie<Key, Value<Key>> trie_;
  Reference<Key> ref_;
  std::vector<Key> bases_;
};

template <class Key>
void RunRandomized(uint64_t seed) {
  Harness<Key> h(seed);
  for (int round = 0; round < 30; ++round) {
    // Alternate single published writes with batches.
    if (round % 2 == 0) {
      for (int i = 0; i < 60; ++i) h.Step();
    } else {
      h.trie().BeginBatch();
      for (int i = 0; i < 60; ++i) h.Step();
      h.trie().EndBatch();
    }
    h.Check();
  }
  // Remove everything: the trie must hand every node back.
  for (auto it = h.ref().prefixes.begin(); it != h.ref().prefixes.end();) {
    REQUIRE(h.trie().Remove(it->first.first, it->first.second));
    it = h.ref().prefixes.erase(it);
  }
  h.Check();
  h.trie().Reclaim();
  REQUIRE(h.trie().node_bytes() == 0);
}

TEST_CASE("Popcount agrees with std::popcount", "[prefix_trie]") {
  std::mt19937_64 rng(7);
  for (int bits = 0; bits <= 64; ++bits) {
    const uint64_t low = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    REQUIRE(Popcount(low) == static_cast<unsigned>(bits));
    REQUIRE(Popcount(~low) == static_cast<unsigned>(64 - bits));
  }
  for (int i = 0; i < 10000; ++i) {
    const uint64_t x = rng() & rng();
    REQUIRE(Popcount(x) == static_cast<unsigned>(std::popcount(x)));
  }
}

TEST_CASE("IPv4 trie agrees with the naive reference", "[prefix_trie]") {
  for (uint64_t seed = 1; seed <= 8; ++seed) RunRandomized<uint32_t>(seed);
}

TEST_CASE("IPv6 trie agrees with the naive reference", "[prefix_trie]") {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    RunRandomized<unsigned __int128>(seed);
  }
}

TEST_CASE("the default route and host routes sit at the trie's ends",
          "[prefix_trie]") {
  alloc::Arena arena("prefix_trie_test");
  PrefixTrie<uint32_t, uint64_t> trie(arena);
  REQUIRE(trie.Insert(0, 0, 7));
  REQUIRE(trie.Insert(0xffffffff, 32, 9));
  REQUIRE_FALSE(trie.Insert(0, 0, 8));
  std::optional<EpochGuard> guard(std::in_place);
  REQUIRE(trie.Find(0x12345678).value == 8);
  REQUIRE(trie.Find(0x12345678).length == 0);
  REQUIRE(trie.Find(0xffffffff).length == 32);
  REQUIRE(trie.Find(0xfffffffe).length == 0);
  REQUIRE(trie.Remove(0, 0));
  REQUIRE(trie.Find(0x12345678).length == -1);
  REQUIRE(trie.size() == 1);
  REQUIRE(trie.Remove(0xffffffff, 32));
  REQUIRE_FALSE(trie.Remove(0xffffffff, 32));
  // Replaced nodes wait for the pinned reader (this thread), then go.
  REQUIRE(trie.node_bytes() > 0);
  guard.reset();
  trie.Reclaim();
  REQUIRE(trie.node_bytes() == 0);
}

TEST_CASE("prefixes written above a node reach lookups that end in it",
          "[prefix_trie]") {
  alloc::Arena arena("prefix_trie_test");
  PrefixTrie<uint32_t, uint32_t> trie(arena);
  // 10.1.2.128/25 makes nodes for 10/8, 10.1/16 and 10.1.2/24; lookups
  // beside it end in those nodes and must see what is written above.
  REQUIRE(trie.Insert(0x0a010280, 25, 1));
  auto longest = [&](uint32_t address) {
    EpochGuard guard;
    const auto hit = trie.Find(address);
    std::optional<uint32_t> batch[1];
    trie.LongestBatch(&address, 1, batch);
    REQUIRE(batch[0] ==
            (hit.length >= 0 ? std::optional(hit.value) : std::nullopt));
    return hit.length >= 0 ? std::pair(hit.length, hit.value)
                           : std::pair(-1, 0u);
  };
  const uint32_t beside = 0x0a010205, inside = 0x0a0102f0;
  REQUIRE(longest(beside) == std::pair(-1, 0u));
  REQUIRE(trie.Insert(0x0a000000, 8, 2));
  REQUIRE(longest(beside) == std::pair(8, 2u));
  REQUIRE(trie.Insert(0x0a000000, 12, 3));
  REQUIRE(longest(beside) == std::pair(12, 3u));
  REQUIRE_FALSE(trie.Insert(0x0a000000, 12, 4));
  REQUIRE(longest(beside) == std::pair(12, 4u));
  trie.BeginBatch();
  REQUIRE(trie.Insert(0x0a010200, 24, 5));
  REQUIRE(trie.Insert(0x0a010000, 16, 6));
  trie.EndBatch();
  REQUIRE(longest(beside) == std::pair(24, 5u));
  REQUIRE(longest(0x0a010305) == std::pair(16, 6u));
  REQUIRE(trie.Remove(0x0a010200, 24));
  REQUIRE(longest(beside) == std::pair(16, 6u));
  REQUIRE(trie.Remove(0x0a000000, 12));
  REQUIRE(trie.Remove(0x0a010000, 16));
  REQUIRE(longest(beside) == std::pair(8, 2u));
  REQUIRE(trie.Remove(0x0a000000, 8));
  REQUIRE(longest(beside) == std::pair(-1, 0u));
  REQUIRE(longest(inside) == std::pair(25, 1u));
}

TEST_CASE("writing the default route copies only the root and the version",
          "[prefix_trie]") {
  alloc::Arena arena("prefix_trie_test");
  PrefixTrie<uint32_t, uint32_t> trie(arena);
  // A /24 in each of 64 /8s: 64 directory chunks, each with a node.
  for (uint32_t i = 0; i < 64; ++i) {
    REQUIRE(trie.Insert(i << 24 | 0x010100, 24, i));
  }
  const size_t before = trie.node_bytes();
  {
    // A pinned reader keeps every replaced node counted.
    EpochGuard guard;
    REQUIRE(trie.Insert(0, 0, 7));
    REQUIRE(trie.Find(0x05010203).length == 0);
    REQUIRE(trie.Find(0x05010103).length == 24);
    REQUIRE(trie.Remove(0, 0));
    // Two copies of the version (10 KiB each) and of the root, not of the
    // 64 directory chunks (512 bytes each) and 64 nodes below them.
    REQUIRE(trie.node_bytes() - before < (24 << 10));
    REQUIRE(before > (40 << 10));
  }
}

}  // namespace
}  // namespace keel::core::core_internal
