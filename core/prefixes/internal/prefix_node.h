// The node of PrefixTrie: one stride-8 level of a multibit trie, compressed
// by popcount (after gaissmai/bart and the tree bitmap).
//
// A node at depth d holds the prefixes of lengths 8d+1 .. 8d+8 under its
// 8d-bit path (the root also holds length 0). Within the node a prefix of j
// extra bits (0..8) whose extra bits read x sits at slot (1 << j) | x: a
// complete binary tree of 511 slots, 1..511, so slot i's parent is i / 2 and
// the 256 slots of 8 extra bits, 256 + byte, sit at the leaves. A child node
// per byte holds what lies deeper. Two bitmaps say which slots and which
// children exist; the values and child pointers sit in two dense arrays
// after the header, in slot and byte order, found by popcount rank.
//
// One allocation per node: header, then the child pointers, then the values.
// The Splice* functions add or take away one child or prefix, moving the
// arrays around the gap; where the result goes is the writer's choice.
//
// Each node also carries its cover: the longest prefix above it that holds
// all of it (length and value), so that a lookup need only search the
// deepest node on its key's path.
//
//   unsigned slot = node->BestSlot(byte);   // longest prefix on byte's path
//   if (slot != 0) value = node->Value(slot);
//   if (node->HasChild(byte)) node = node->Child(byte);
//
// Thread safety: nodes are written only while private to the writer (see
// PrefixTrie) and are immutable once published; read them from any thread.
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_NODE_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_NODE_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/internal/select.h"

namespace keel::core::core_internal {

inline constexpr int kStride = 8;

// The table NodeCapacity reads, indexed by (bytes + 15) / 16; built on the
// first call.
const uint32_t* NodeCapacityTable();
// The bytes a node of `bytes` bytes is allocated with: the GrowthPolicy
// capacity (a jemalloc size class). Inline: every write asks several times.
// REQUIRES: 0 < bytes <= kMaxNodeBytes.
inline uint32_t NodeCapacity(size_t bytes) {
  static const uint32_t* const table = NodeCapacityTable();
  return table[(bytes + 15) >> 4];
}

// For each byte >> 3: the slots 1..63 (0..5 extra bits) on the byte's path.
inline constexpr std::array<uint64_t, 32> kShallowAncestors = [] {
  std::array<uint64_t, 32> masks{};
  for (unsigned top = 0; top < 32; ++top) {
    unsigned byte = top << 3;
    for (int j = 0; j <= 5; ++j) {
      masks[top] |= uint64_t{1} << ((1u << j) | (byte >> (8 - j)));
    }
  }
  return masks;
}();

// Popcount is the trie's inner loop: the baseline x86-64 target turns
// std::popcount into a libgcc call, and a target("popcnt") attribute or
// pragma would stop the lookups from inlining into callers built for the
// baseline (GCC refuses to inline across targets), so the instruction is
// written out. Every x86-64 CPU since 2008 has it.
inline unsigned Popcount(uint64_t x) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__POPCNT__)
  uint64_t count;
  asm("popcnt %1, %0" : "=r"(count) : "rm"(x) : "cc");
  return static_cast<unsigned>(count);
#else
  return static_cast<unsigned>(std::popcount(x));
#endif
}

inline bool TestBit(const uint64_t* words, unsigned i) {
  return (words[i >> 6] >> (i & 63)) & 1;
}

// cond ? a : b for a small trivially copyable object, by Select on its
// bytes (one or two words).
template <class T>
inline T SelectObject(bool cond, const T& a, const T& b) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 16);
  uint64_t wa[2] = {}, wb[2] = {};
  std::memcpy(wa, &a, sizeof(T));
  std::memcpy(wb, &b, sizeof(T));
  for (size_t w = 0; w < (sizeof(T) + 7) / 8; ++w) {
    wa[w] = Select(cond, wa[w], wb[w]);
  }
  T out;
  std::memcpy(&out, wa, sizeof(T));
  return out;
}

// The slot of `extra_bits` bits of `byte`.
inline unsigned SlotOf(unsigned byte, int extra_bits) {
  return (1u << extra_bits) | (byte >> (kStride - extra_bits));
}

// How many extra bits slot i stands for (0..8).
inline int SlotBits(unsigned slot) { return std::bit_width(slot) - 1; }

struct NodeHeader {
  uint64_t child_bits[4];   // bit b: a child for byte b
  uint64_t prefix_bits[8];  // bit i: slot i holds a prefix
  // Set bits in the words before each word, so that a rank is one popcount:
  // a loop over the words costs more, and mispredicts on random keys.
  uint16_t prefixes_before[8];
  uint8_t children_before[4];
  uint16_t child_count;
  uint16_t prefix_count;
  uint64_t generation;  // the writer's batch that made the node
  // The cover: its value's bytes, and its length (-1 for none). The writer
  // keeps it up to date as prefixes above come and go.
  alignas(8) unsigned char cover_value[8];
  int32_t cover_length;

  unsigned ChildRank(unsigned byte) const {
    return children_before[byte >> 6] +
           Popcount(child_bits[byte >> 6] & ((uint64_t{1} << (byte & 63)) - 1));
  }
  unsigned PrefixRank(unsigned slot) const {
    return prefixes_before[slot >> 6] +
           Popcount(prefix_bits[slot >> 6] &
                    ((uint64_t{1} << (slot & 63)) - 1));
  }
  // Brings the counts up to date with the bitmaps.
  void Recount() {
    unsigned total = 0;
    for (int w = 0; w < 4; ++w) {
      children_before[w] = static_cast<uint8_t>(total);
      total += Popcount(child_bits[w]);
    }
    child_count = static_cast<uint16_t>(total);
    total = 0;
    for (int w = 0; w < 8; ++w) {
      prefixes_before[w] = static_cast<uint16_t>(total);
      total += Popcount(prefix_bits[w]);
    }
    prefix_count = static_cast<uint16_t>(total);
  }
};
static_assert(sizeof(NodeHeader) == 144);

// The largest node: 256 children and 511 values of 8 bytes.
inline constexpr size_t kMaxNodeBytes = sizeof(NodeHeader) + 256 * 8 + 511 * 8;

template <class V>
struct Node : NodeHeader {
  static constexpr size_t BytesFor(size_t children, size_t prefixes) {
    return sizeof(NodeHeader) + children * sizeof(Node*) + prefixes * sizeof(V);
  }
  size_t bytes() const { return BytesFor(child_count, prefix_count); }

  Node* const* children() const {
    return reinterpret_cast<Node* const*>(reinterpret_cast<const char*>(this) +
                                          sizeof(NodeHeader));
  }
  Node** children() {
    return reinterpret_cast<Node**>(reinterpret_cast<char*>(this) +
                                    sizeof(NodeHeader));
  }
  const V* values() const {
    return reinterpret_cast<const V*>(children() + child_count);
  }
  V* values() { return reinterpret_cast<V*>(children() + child_count); }

  bool HasChild(unsigned byte) const { return TestBit(child_bits, byte); }
  bool HasPrefix(unsigned slot) const { return TestBit(prefix_bits, slot); }
  Node* Child(unsigned byte) const { return children()[ChildRank(byte)]; }
  const V& Value(unsigned slot) const { return values()[PrefixRank(slot)]; }
  bool empty() const { return child_count == 0 && prefix_count == 0; }

  // The deepest slot holding a prefix on `byte`'s path, or 0. Deeper slots
  // have larger numbers, so the answer is the highest hit: the three leaf
  // levels are tested one bit each, the six above with one mask. Written to
  // compile to selects rather than branches: random keys make every branch
  // here a coin toss.
  [[gnu::always_inline]] unsigned BestSlot(unsigned byte) const {
    uint32_t deep =
        static_cast<uint32_t>((prefix_bits[4 + (byte >> 6)] >> (byte & 63)) & 1)
            << 8 |
        static_cast<uint32_t>(
            (prefix_bits[2 + (byte >> 7)] >> ((byte >> 1) & 63)) & 1)
            << 7 |
        static_cast<uint32_t>((prefix_bits[1] >> (byte >> 2)) & 1) << 6;
    uint64_t shallow = prefix_bits[0] & kShallowAncestors[byte >> 3];
    // Bit 0 (slot 0) is never set: "| 1" keeps bit_width off its zero
    // case, which compiles to a branch, and makes an empty set slot 0.
    unsigned deep_slot = SlotOf(byte, std::bit_width(deep | 1) - 1);
    unsigned shallow_slot = std::bit_width(shallow | 1) - 1;
    return Select(deep, deep_slot, shallow_slot);
  }

  // Splicing: each writes into `to` the node `from` with one child or one
  // prefix added or taken away. `to` is `from` itself (edited in place) or
  // a fresh node holding from's header and room for the result; the caller
  // (PrefixTrieWriter) picks it and frees `from` when it is not `to`.
  static void SpliceChildIn(const Node* from, Node* to, unsigned byte,
                            Node* child) {
    const size_t old_bytes = from->bytes();
    const unsigned rank = from->ChildRank(byte);
    Splice(from, to, rank * sizeof(Node*), old_bytes - sizeof(NodeHeader),
           sizeof(Node*));
    to->child_bits[byte >> 6] |= uint64_t{1} << (byte & 63);
    to->Recount();
    to->children()[rank] = child;
  }
  static void SpliceChildOut(const Node* from, Node* to, unsigned byte) {
    const size_t old_bytes = from->bytes();
    const unsigned rank = from->ChildRank(byte);
    Splice(from, to, rank * sizeof(Node*), old_bytes - sizeof(NodeHeader),
           -static_cast<ptrdiff_t>(sizeof(Node*)));
    to->child_bits[byte >> 6] &= ~(uint64_t{1} << (byte & 63));
    to->Recount();
  }
  static void SplicePrefixIn(const Node* from, Node* to, unsigned slot,
                             const V& value) {
    const size_t old_bytes = from->bytes();
    const unsigned rank = from->PrefixRank(slot);
    const size_t at = from->child_count * sizeof(Node*) + rank * sizeof(V);
    Splice(from, to, at, old_bytes - sizeof(NodeHeader), sizeof(V));
    to->prefix_bits[slot >> 6] |= uint64_t{1} << (slot & 63);
    to->Recount();
    to->values()[rank] = value;
  }
  static void SplicePrefixOut(const Node* from, Node* to, unsigned slot) {
    const size_t old_bytes = from->bytes();
    const unsigned rank = from->PrefixRank(slot);
    const size_t at = from->child_count * sizeof(Node*) + rank * sizeof(V);
    Splice(from, to, at, old_bytes - sizeof(NodeHeader),
           -static_cast<ptrdiff_t>(sizeof(V)));
    to->prefix_bits[slot >> 6] &= ~(uint64_t{1} << (slot & 63));
    to->Recount();
  }

 private:
  // The arrays of `from` copied into `to` with a gap (or a cut) of `width`
  // bytes at byte `at` of the part after the header. Works in place.
  static void Splice(const Node* from, Node* to, size_t at, size_t old_tail,
                     ptrdiff_t width) {
    const char* src = reinterpret_cast<const char*>(from) + sizeof(NodeHeader);
    char* dst = reinterpret_cast<char*>(to) + sizeof(NodeHeader);
    if (width >= 0) {
      std::memmove(dst + at + width, src + at, old_tail - at);
      if (src != dst) std::memcpy(dst, src, at);
    } else {
      if (src != dst) std::memcpy(dst, src, at);
      std::memmove(dst + at, src + at - width, old_tail - at + width);
    }
  }
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_NODE_H_
