// PrefixTable<V>: a mutable longest-prefix-match table for full BGP tables,
// IPv4 and IPv6 prefixes in one table, each mapped to a small value (an
// origin AS, typically).
//
// Use it to answer "which announced prefix holds this address" at millions
// of lookups a second while a feed keeps inserting and withdrawing routes,
// and for the routing questions around a prefix: exact, longest covering,
// every covering (less specifics), every covered (more specifics).
//
//   keel::core::PrefixTable<uint32_t> table;
//   table.Insert(*Prefix::Parse("192.0.2.0/24"), 64500);
//   auto m = table.Longest(*IpAddress::Parse("192.0.2.7"));
//   // m->prefix.ToString() == "192.0.2.0/24", m->value == 64500
//   table.MoreSpecifics(*Prefix::Parse("192.0.0.0/16"),
//                        [](const Prefix& p, uint32_t asn) { ... });
//
// Structure: per family, a directory with one entry per value of the first
// 16 bits (core/prefixes/internal/prefix_directory.h) in front of a multibit
// trie with stride 8, each node holding a 511-slot complete binary tree of the
// prefixes 1-8 bits below it and up to 256 children, both compressed by
// popcount (core/prefixes/internal/prefix_node.h). An entry holds the node of
// its /16's longer prefixes or, when there are none, the /16's answer itself
// (leaf pushing); each node holds the longest prefix above it that covers
// it. So an IPv4 lookup reads one entry and at most 2 nodes, and searches
// only the last. Writing a prefix of 16 bits or fewer rewrites the entries
// it covers (256 for an IPv4 /8) and copies the nodes under them whose
// cover changes. Nodes and
// directory blocks come from the table's own alloc::Arena
// ("prefix_table"), sized by alloc::GrowthPolicy classes.
//
// Thread safety: one writer thread (Insert, Remove, Batch, Reclaim) and any
// number of reader threads (every const method, and Readers) at once.
// Readers never block and never see a torn state: the writer copies the
// nodes it changes and the directory blocks above them (once per batch),
// and publishes the new version with one atomic store, so
//  - every query sees the table either before or after each write, and a
//    query with many results (MoreSpecifics, LessSpecifics) sees one
//    consistent version throughout (ForEach: one per family);
//  - writes inside one Batch are published together: a query sees all of a
//    family's writes in the batch or none of them. Outside a Batch each write
//    is published on its own, which costs a copy of its path and of the
//    directory's whole table of blocks, several times the cost of a write
//    in a batch; feed writers should batch (every few dozen updates or a
//    millisecond).
//  - the writer's own queries also read the published version: inside an
//    open Batch they do not see its writes yet.
// Replaced nodes are freed by epoch-based reclamation: each query pins the
// process-wide epoch (a seq_cst exchange on a per-thread slot); make a
// Reader for many queries to pin once. A reader that stays pinned
// holds back the freeing of replaced nodes (in every table), never the
// writer itself.
#ifndef KEEL_CORE_PREFIXES_PREFIX_TABLE_H_
#define KEEL_CORE_PREFIXES_PREFIX_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "alloc/arena.h"
#include "core/ip.h"
#include "core/prefixes/internal/epoch_domain.h"
#include "core/prefixes/internal/prefix_trie.h"

namespace keel::core {

template <class V>
class PrefixTable {
  static_assert(std::is_trivially_copyable_v<V> && sizeof(V) <= 8,
                "PrefixTable values are small trivially copyable values");

 public:
  struct Match {
    Prefix prefix;
    V value;
  };

  // Publishes the writes made during its lifetime together, when it ends.
  // Batches nest. REQUIRES: on the writer thread; the table outlives it.
  class Batch {
   public:
    explicit Batch(PrefixTable& table) : table_(table) {
      table_.v4_.BeginBatch();
      table_.v6_.BeginBatch();
    }
    ~Batch() {
      table_.v4_.EndBatch();
      table_.v6_.EndBatch();
    }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    PrefixTable& table_;
  };

  // The table's queries, under one pin of the reclamation epoch for the
  // reader's lifetime. Each query reads the newest published version. The
  // table's own query methods open a Reader each; hold one around many
  // queries on one thread, which skips the per-query pin (a thread-local
  // check whose branch would also keep a caller from testing the result
  // without one):
  //
  //   PrefixTable<uint32_t>::Reader reader(table);
  //   for (Ipv4 a : addresses) {
  //     if (auto m = reader.Longest(a)) counts[m->value]++;
  //   }
  //
  // REQUIRES: used on the thread that made it; the table outlives it. A
  // reader held long holds back the freeing of replaced nodes (in every
  // table), never the writer itself.
  class Reader {
   public:
    explicit Reader(const PrefixTable& table) : table_(table) {}
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    std::optional<V> Exact(const Prefix& prefix) const {
      return prefix.is_v4() ? table_.v4_.Exact(V4Key(prefix), prefix.length())
                            : table_.v6_.Exact(V6Key(prefix), prefix.length());
    }

    // The longest prefix holding `address`.
    std::optional<Match> Longest(Ipv4 address) const {
      return ToMatch(address, table_.v4_.Find(address.bits()));
    }
    std::optional<Match> Longest(Ipv6 address) const {
      return ToMatch(address, table_.v6_.Find(address.bits()));
    }
    std::optional<Match> Longest(const IpAddress& address) const {
      return address.is_v4() ? Longest(address.v4()) : Longest(address.v6());
    }
    // The longest prefix covering `prefix` (itself included).
    std::optional<Match> Longest(const Prefix& prefix) const {
      std::optional<Match> best;
      LessSpecifics(prefix, [&best](const Prefix& p, const V& v) {
        best = Match{p, v};
      });
      return best;
    }

    // For each address, the value of its longest prefix, or nullopt; walks
    // many lookups side by side so their cache misses overlap. REQUIRES:
    // results.size() >= addresses.size().
    void LookupBatch(std::span<const Ipv4> addresses,
                     std::span<std::optional<V>> results) const {
      static_assert(sizeof(Ipv4) == sizeof(uint32_t));
      table_.v4_.LongestBatch(
          reinterpret_cast<const uint32_t*>(addresses.data()), addresses.size(),
          results.data());
    }
    void LookupBatch(std::span<const Ipv6> addresses,
                     std::span<std::optional<V>> results) const {
      static_assert(sizeof(Ipv6) == sizeof(unsigned __int128));
      table_.v6_.LongestBatch(
          reinterpret_cast<const unsigned __int128*>(addresses.data()),
          addresses.size(), results.data());
    }

    // Calls visit(const Prefix&, const V&) for every prefix covering
    // `prefix`, itself included, shortest first.
    template <class Visit>
    void LessSpecifics(const Prefix& prefix, Visit&& visit) const {
      if (prefix.is_v4()) {
        table_.v4_.LessSpecifics(V4Key(prefix), prefix.length(),
                                 V4Visitor(visit));
      } else {
        table_.v6_.LessSpecifics(V6Key(prefix), prefix.length(),
                                 V6Visitor(visit));
      }
    }

    // Calls visit(const Prefix&, const V&) for every prefix inside
    // `prefix`, itself included, in Prefix order (by address, then shorter
    // first), without copying the table.
    template <class Visit>
    void MoreSpecifics(const Prefix& prefix, Visit&& visit) const {
      if (prefix.is_v4()) {
        table_.v4_.MoreSpecifics(V4Key(prefix), prefix.length(),
                                 V4Visitor(visit));
      } else {
        table_.v6_.MoreSpecifics(V6Key(prefix), prefix.length(),
                                 V6Visitor(visit));
      }
    }

    // Calls visit(const Prefix&, const V&) for every prefix in Prefix
    // order: IPv4 then IPv6. Each family is one consistent version.
    template <class Visit>
    void ForEach(Visit&& visit) const {
      table_.v4_.ForEach(V4Visitor(visit));
      table_.v6_.ForEach(V6Visitor(visit));
    }

   private:
    core_internal::EpochGuard guard_;
    const PrefixTable& table_;
  };

  PrefixTable() : arena_(kArenaName), v4_(arena_), v6_(arena_) {}
  // REQUIRES: no reader is inside the table.
  ~PrefixTable() = default;
  PrefixTable(const PrefixTable&) = delete;
  PrefixTable& operator=(const PrefixTable&) = delete;

  // ---- Writer -------------------------------------------------------------

  // Maps `prefix` to `value`, replacing any value it had; true when the
  // prefix is new.
  bool Insert(const Prefix& prefix, const V& value) {
    arena_used_ = true;
    return prefix.is_v4() ? v4_.Insert(V4Key(prefix), prefix.length(), value)
                          : v6_.Insert(V6Key(prefix), prefix.length(), value);
  }
  // Removes `prefix`; true when it was there. Frees nodes left empty.
  bool Remove(const Prefix& prefix) {
    return prefix.is_v4() ? v4_.Remove(V4Key(prefix), prefix.length())
                          : v6_.Remove(V6Key(prefix), prefix.length());
  }
  // Frees the replaced nodes that no reader still holds, and the freed nodes
  // the writer keeps for reuse. Writes free as they go; call it once readers
  // have finished to free the rest, or after a burst of writes. When the table
  // then holds no node at all, it also swaps in a fresh arena, so that the old
  // one's allocator metadata (which jemalloc keeps for an arena's lifetime)
  // goes back too.
  void Reclaim() {
    v4_.Reclaim();
    v6_.Reclaim();
    v4_.FlushPool();
    v6_.FlushPool();
    if (arena_used_ && v4_.node_bytes() == 0 && v6_.node_bytes() == 0) {
      arena_ = alloc::Arena(kArenaName);
      arena_used_ = false;
    }
  }

  // ---- Readers ------------------------------------------------------------

  // Published prefixes, both families.
  size_t size() const { return v4_.size() + v6_.size(); }
  // Bytes the table holds: its arena's live allocations (nodes at their
  // size class, replaced ones not yet freed and freed ones kept for reuse
  // included) plus the object.
  size_t memory_bytes() const {
    return v4_.node_bytes() + v6_.node_bytes() + v4_.pooled_bytes() +
           v6_.pooled_bytes() + sizeof(*this);
  }
  // The arena the nodes live in, for its statistics and purging.
  alloc::Arena& arena() { return arena_; }
  const alloc::Arena& arena() const { return arena_; }

  // The queries below, each through a Reader of its own (one pin each).
  std::optional<V> Exact(const Prefix& prefix) const {
    return Reader(*this).Exact(prefix);
  }
  std::optional<Match> Longest(Ipv4 address) const {
    return Reader(*this).Longest(address);
  }
  std::optional<Match> Longest(Ipv6 address) const {
    return Reader(*this).Longest(address);
  }
  std::optional<Match> Longest(const IpAddress& address) const {
    return Reader(*this).Longest(address);
  }
  std::optional<Match> Longest(const Prefix& prefix) const {
    return Reader(*this).Longest(prefix);
  }
  void LookupBatch(std::span<const Ipv4> addresses,
                   std::span<std::optional<V>> results) const {
    Reader(*this).LookupBatch(addresses, results);
  }
  void LookupBatch(std::span<const Ipv6> addresses,
                   std::span<std::optional<V>> results) const {
    Reader(*this).LookupBatch(addresses, results);
  }
  template <class Visit>
  void LessSpecifics(const Prefix& prefix, Visit&& visit) const {
    Reader(*this).LessSpecifics(prefix, visit);
  }
  template <class Visit>
  void MoreSpecifics(const Prefix& prefix, Visit&& visit) const {
    Reader(*this).MoreSpecifics(prefix, visit);
  }
  template <class Visit>
  void ForEach(Visit&& visit) const {
    Reader(*this).ForEach(visit);
  }

 private:
  static constexpr char kArenaName[] = "prefix_table";
  using V4Trie = core_internal::PrefixTrie<uint32_t, V>;
  using V6Trie = core_internal::PrefixTrie<unsigned __int128, V>;

  static uint32_t V4Key(const Prefix& prefix) {
    return static_cast<uint32_t>(prefix.address().bits());
  }
  static unsigned __int128 V6Key(const Prefix& prefix) {
    return prefix.address().bits();
  }
  // Built whether or not there is a match, so that the caller's test of
  // the result need not be a branch (many random addresses have no route:
  // a coin toss for the branch predictor).
  template <class Address, class Hit>
  static std::optional<Match> ToMatch(Address address, const Hit& hit) {
    const Match match{
        Prefix::Covering(address, hit.length < 0 ? 0 : hit.length), hit.value};
    return hit.length < 0 ? std::nullopt : std::optional<Match>(match);
  }
  template <class Visit>
  static auto V4Visitor(Visit& visit) {
    return [&visit](uint32_t key, int length, const V& value) {
      visit(Prefix::Covering(Ipv4(key), length), value);
    };
  }
  template <class Visit>
  static auto V6Visitor(Visit& visit) {
    return [&visit](unsigned __int128 key, int length, const V& value) {
      visit(Prefix::Covering(Ipv6(key), length), value);
    };
  }

  alloc::Arena arena_;  // first: the tries free into it when destroyed
  V4Trie v4_;
  V6Trie v6_;
  bool arena_used_ = false;  // allocated from since the arena was made
};

}  // namespace keel::core

#endif  // KEEL_CORE_PREFIXES_PREFIX_TABLE_H_
