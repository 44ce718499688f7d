// The directory of PrefixTrie: one entry per value of an address's first 16
// bits, so that a lookup reaches the node for its /16 (or the answer, when
// there is none) with one read instead of a walk through two levels of
// nodes. A full IPv4 table's directory is small enough to stay in a core's
// L2 cache (README gives its size and what it saved).
//
// An entry is one word:
//   odd   a leaf, leaf-pushed: no longer prefix lies inside the /16, and the
//         longest holding it has length (word >> 1) & 0xff; its value sits
//         in the word's upper half when V fits in 32 bits, else in the
//         chunk's values[] at the same index. Length 0 (kBareLeaf) stands
//         for the default route, or nothing when there is none: its value
//         is the version's, so writing the default route rewrites no entry.
//   even  the node (depth 2) holding the /16's longer prefixes; its cover
//         is the longest prefix of 16 bits or fewer over it (the default
//         route aside).
// Random addresses on a full IPv4 table mostly find a leaf, many of them
// bare: one encoding for all leaves keeps those on the short path, with one
// branch that the node case takes.
//
// Entries come in chunks of kChunkEntries, and a version holds the chunks'
// pointers and the root of the prefixes of 16 bits or fewer. The writer
// copies a chunk and the version once per batch it touches them, like the
// nodes, and publishes the version.
//
// Thread safety: chunks and versions are immutable once published.
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_DIRECTORY_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_DIRECTORY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/prefixes/internal/prefix_node.h"

namespace keel::core::core_internal {

inline constexpr int kDirectoryBits = 16;
inline constexpr int kChunkBits = 6;
inline constexpr unsigned kChunkEntries = 1u << kChunkBits;
inline constexpr unsigned kChunks = 1u << (kDirectoryBits - kChunkBits);

// Cache-line aligned, as jemalloc places blocks of its size anyway.
template <class V>
struct alignas(64) DirectoryChunk {
  static constexpr bool kInlineValues = sizeof(V) <= 4;
  static constexpr uintptr_t kBareLeaf = 1;
  static constexpr bool IsLeaf(uintptr_t word) { return word & 1; }
  static constexpr int LeafLength(uintptr_t word) {
    return static_cast<int>((word >> 1) & 0xff);
  }
  // Where the value of leaf `word`, read from words[i], sits.
  // REQUIRES: IsLeaf(word).
  const unsigned char* LeafValue(const uintptr_t& word, unsigned i) const {
    if constexpr (kInlineValues) {
      // The upper half of the word, read in place (x86-64 is little-endian).
      return reinterpret_cast<const unsigned char*>(&word) + 4;
    } else {
      return reinterpret_cast<const unsigned char*>(&values[i]);
    }
  }
  // The word of a leaf of `length` (0..16) and `value`; when the value does
  // not fit in the word, it goes in values[] (SetLeafValue).
  static uintptr_t LeafWord(int length, const unsigned char* value) {
    uintptr_t word = 1 | static_cast<uintptr_t>(length) << 1;
    if constexpr (kInlineValues) {
      uint32_t bits = 0;
      std::memcpy(&bits, value, sizeof(V));
      word |= static_cast<uintptr_t>(bits) << 32;
    }
    return word;
  }
  void SetLeafValue(unsigned i, const unsigned char* value) {
    if constexpr (!kInlineValues) std::memcpy(&values[i], value, sizeof(V));
  }
  bool SameLeafValue(unsigned i, const unsigned char* value) const {
    if constexpr (kInlineValues) {
      return true;  // in the word, compared with it
    } else {
      return std::memcmp(&values[i], value, sizeof(V)) == 0;
    }
  }
  // Every entry bare: the chunk stands for nothing.
  bool IsBare() const {
    for (uintptr_t word : words) {
      if (word != kBareLeaf) return false;
    }
    return true;
  }

  uintptr_t words[kChunkEntries];
  struct NoValues {};
  [[no_unique_address]] std::conditional_t<kInlineValues, NoValues,
                                           V[kChunkEntries]>
      values;
};
static_assert(sizeof(DirectoryChunk<uint32_t>) == 8 * kChunkEntries);
static_assert(sizeof(uintptr_t) == 8, "entries hold a 32-bit value and a tag");

template <class V>
struct DirectoryVersion {
  // The prefixes of 16 bits or fewer: a root node (depth 0) whose children
  // (depth 1) have no children of their own. Null when there are none.
  Node<V>* upper;
  // The default route's length (0), or -1 when there is none, and value.
  int32_t default_length;
  unsigned char default_value[8];
  size_t chunk_count;  // chunks other than the shared bare one
  const DirectoryChunk<V>* chunks[kChunks];  // the shared bare chunk for none
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_DIRECTORY_H_
