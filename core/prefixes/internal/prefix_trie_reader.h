// PrefixTrieReader<Key, V>: PrefixTrie's queries, on one published version
// of the trie (prefix_trie.h describes the structure): exact match, longest
// match one key or a batch at a time, less and more specifics. Lookups are
// written without branches on the data wherever random keys would make the
// branch a coin toss.
//
// Thread safety: stateless; call from any thread, under an EpochGuard held
// from before the version was loaded until the call returns.
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_READER_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_READER_H_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "core/internal/select.h"
#include "core/prefixes/internal/prefix_directory.h"
#include "core/prefixes/internal/prefix_node.h"
#include "core/prefixes/internal/prefix_trie_shape.h"

namespace keel::core::core_internal {

template <class Key, class V>
class PrefixTrieReader : private PrefixTrieShape<Key, V> {
  using Shape = PrefixTrieShape<Key, V>;
  using Shape::ByteAt;
  using Shape::DepthOf;
  using Shape::Descend;
  using Shape::DirectoryIndex;
  using Shape::EntryNode;
  using Shape::EntryWord;
  using Shape::Holder;
  using Shape::kBareChunk;
  using Shape::kBits;
  using Shape::kLevels;
  using Shape::kUpperLevels;
  using Shape::Mask;
  using Shape::SlotFor;
  using typename Shape::Chunk;
  using typename Shape::NodeT;

 public:
  using typename Shape::Version;

  // A longest-match answer: the prefix's length and its value.
  struct Hit {
    int length;
    V value;
  };

  static std::optional<V> Exact(const Version& version, Key key, int length) {
    const NodeT* node = Holder(version, key, length);
    const unsigned slot = SlotFor(key, length);
    if (node == nullptr || !node->HasPrefix(slot)) return std::nullopt;
    return node->Value(slot);
  }

  // The longest prefix holding the address `key`, length -1 for none (the
  // value is then meaningless): its directory entry's leaf, or down the
  // nodes under the entry to the deepest on key's path, whose own prefixes
  // and cover hold the answer. Without an optional, a caller testing the
  // result can do so without a branch, which random addresses (many with
  // no route) would mispredict.
  [[gnu::always_inline]] static Hit Find(const Version& version, Key key) {
    const unsigned index = DirectoryIndex(key);
    const uintptr_t& word = EntryWord(version, index);
    const unsigned char* at;
    int length;
    if (Chunk::IsLeaf(word)) {
      at = LeafAnswer(version, index, word, DefaultRoute(version), &length);
    } else {
      const char* node = reinterpret_cast<const char*>(word);
      // The counts, the cover and the first values sit in the node's
      // second to fourth lines, whose loads would otherwise wait for the
      // bitmaps in its first.
      __builtin_prefetch(node + 64);
      __builtin_prefetch(node + 128);
      __builtin_prefetch(node + 192);
      at = Answer(WalkFrom(reinterpret_cast<const NodeT*>(node), key), key,
                  DefaultRoute(version), &length);
    }
    Hit hit;
    hit.length = length;
    std::memcpy(&hit.value, at, sizeof(V));
    return hit;
  }

  // Longest for keys[0..n), into out[0..n). Takes the keys kGroup at a
  // time: fetches their entries, sorts them into leaves and nodes (a branch
  // on the kind would mispredict on random keys), fetches the nodes, then
  // answers the leaves (in cache by then) while the nodes arrive, and the
  // nodes last.
  static void LongestBatch(const Version& version, const Key* keys, size_t n,
                           std::optional<V>* out) {
    const Fallback fallback = DefaultRoute(version);
    const uintptr_t* entries[kGroup];
    uint8_t leaves[kGroup], nodes[kGroup];
    for (size_t begin = 0; begin < n; begin += kGroup) {
      const size_t count = std::min(kGroup, n - begin);
      const Key* group = keys + begin;
      std::optional<V>* results = out + begin;
      for (size_t i = 0; i < count; ++i) {
        entries[i] = &EntryWord(version, DirectoryIndex(group[i]));
        __builtin_prefetch(entries[i]);
      }
      size_t leaf_count = 0, node_count = 0;
      for (size_t i = 0; i < count; ++i) {
        const uintptr_t word = *entries[i];
        const uintptr_t is_leaf = Chunk::IsLeaf(word);
        leaves[leaf_count] = static_cast<uint8_t>(i);
        nodes[node_count] = static_cast<uint8_t>(i);
        leaf_count += is_leaf;
        node_count += is_leaf ^ 1;
        // A leaf's prefetches go to the shared bare chunk, which stays in
        // L1: lines next to its entry would be fetched for nothing.
        const char* node =
            Select(is_leaf, reinterpret_cast<const char*>(&kBareChunk),
                   reinterpret_cast<const char*>(word));
        __builtin_prefetch(node);
        __builtin_prefetch(node + 64);
        __builtin_prefetch(node + 128);
        __builtin_prefetch(node + 192);
      }
      for (size_t j = 0; j < leaf_count; ++j) {
        const size_t i = leaves[j];
        Hit hit;
        std::memcpy(&hit.value,
                    LeafAnswer(version, DirectoryIndex(group[i]), *entries[i],
                               fallback, &hit.length),
                    sizeof(V));
        results[i] = ToResult(hit);
      }
      for (size_t j = 0; j < node_count; ++j) {
        const size_t i = nodes[j];
        const NodeT* node = reinterpret_cast<const NodeT*>(*entries[i]);
        Hit hit;
        std::memcpy(
            &hit.value,
            Answer(WalkFrom(node, group[i]), group[i], fallback, &hit.length),
            sizeof(V));
        results[i] = ToResult(hit);
      }
    }
  }

  // Calls visit(key, length, value) for every prefix covering (key, length),
  // itself included, shortest first.
  template <class Visit>
  static void LessSpecifics(const Version& version, Key key, int length,
                            Visit&& visit) {
    const NodeT* node = version.upper;
    for (int depth = 0; node != nullptr; ++depth) {
      if (!VisitCovering(node, depth, key, length, visit)) return;
      const unsigned byte = ByteAt(key, depth);
      node = depth + 1 < kUpperLevels && node->HasChild(byte)
                 ? node->Child(byte)
                 : nullptr;
    }
    if (length <= kDirectoryBits) return;
    node = EntryNode(version, DirectoryIndex(key));
    for (int depth = kUpperLevels; node != nullptr; ++depth) {
      if (!VisitCovering(node, depth, key, length, visit)) return;
      if (depth + 1 == kLevels) return;
      const unsigned byte = ByteAt(key, depth);
      node = node->HasChild(byte) ? node->Child(byte) : nullptr;
    }
  }

  // Calls visit(key, length, value) for every prefix inside (key, length),
  // itself included, in address order (then shorter first).
  template <class Visit>
  static void MoreSpecifics(const Version& version, Key key, int length,
                            Visit&& visit) {
    if (length > kDirectoryBits) {
      const NodeT* node = Holder(version, key, length);
      if (node == nullptr) return;
      const int target = DepthOf(length);
      VisitSubtree(node, target, key & Mask(target * kStride),
                   SlotFor(key, length), visit);
      return;
    }
    // Each /16 in range in turn: the prefixes of 16 bits or fewer that
    // start at it (shorter first), then the longer ones under it.
    const unsigned first = DirectoryIndex(key);
    const unsigned end = first + (1u << (kDirectoryBits - length));
    for (unsigned index = first; index < end; ++index) {
      const Key base = static_cast<Key>(index) << (kBits - kDirectoryBits);
      if (version.upper != nullptr) {
        const int shortest =
            index == first
                ? length
                : kDirectoryBits - std::countr_zero(index | (1u << 16));
        for (int len = shortest; len <= kDirectoryBits; ++len) {
          const NodeT* node = Descend(version.upper, 0, base, DepthOf(len));
          const unsigned slot = SlotFor(base, len);
          if (node != nullptr && node->HasPrefix(slot)) {
            visit(base, len, node->Value(slot));
          }
        }
      }
      if (const NodeT* node = EntryNode(version, index)) {
        VisitSubtree(node, kUpperLevels, base, 1, visit);
      }
    }
  }

  template <class Visit>
  static void ForEach(const Version& version, Visit&& visit) {
    MoreSpecifics(version, Key{0}, 0, visit);
  }

 private:
  // Lookups a batch takes at a time.
  static constexpr size_t kGroup = 64;

  // Where a longest-match walk ends: the deepest node on the key's path
  // and its depth. Its cover stands for every node above it (the default
  // route aside).
  struct Walk {
    const NodeT* node;
    int depth;
  };
  // The answer when nothing else matches: the default route, or none.
  struct Fallback {
    const unsigned char* value;  // meaningless for none
    int length;                  // -1 for none
  };

  static Fallback DefaultRoute(const Version& version) {
    return {version.default_value, version.default_length};
  }

  // The walk from `node`, under key's directory entry, down to the deepest
  // node on key's path.
  [[gnu::always_inline]] static Walk WalkFrom(const NodeT* node, Key key) {
    Walk walk{node, kUpperLevels};
    for (; walk.depth + 1 < kLevels; ++walk.depth) {
      const unsigned byte = ByteAt(key, walk.depth);
      if (!walk.node->HasChild(byte)) break;
      walk.node = walk.node->Child(byte);
    }
    return walk;
  }
  // Where the answer of leaf `word` (entry `index`) sits, and its length
  // in *length: the leaf's, or for a bare leaf the fallback (the default
  // route, -1 for none), chosen without a branch.
  [[gnu::always_inline]] static const unsigned char* LeafAnswer(
      const Version& version, unsigned index, const uintptr_t& word,
      const Fallback& fallback, int* length) {
    const int leaf = Chunk::LeafLength(word);
    *length = Select(leaf, leaf, fallback.length);
    return Select(leaf,
                  version.chunks[index / kChunkEntries]->LeafValue(
                      word, index % kChunkEntries),
                  fallback.value);
  }
  // hit as a batch result, chosen without a branch: many random addresses
  // have no route.
  static std::optional<V> ToResult(const Hit& hit) {
    const std::optional<V> found(hit.value), none;
    return SelectObject(hit.length < 0, none, found);
  }

  // Where the answer's value sits (meaningless for none), and its
  // length in *length (-1 for none): the deepest node's longest prefix on
  // key's path, else its cover, else the default route.
  [[gnu::always_inline]] static const unsigned char* Answer(
      const Walk& walk, Key key, const Fallback& fallback, int* length) {
    const NodeT* node = walk.node;
    const int has_cover = node->cover_length + 1;  // 0 for none
    const unsigned char* at =
        Select(has_cover, node->cover_value, fallback.value);
    const int bits = Select(has_cover, node->cover_length, fallback.length);
    const unsigned slot = node->BestSlot(ByteAt(key, walk.depth));
    *length = Select(slot, walk.depth * kStride + SlotBits(slot | 1), bits);
    return Select(slot,
                  reinterpret_cast<const unsigned char*>(
                      node->values() + node->PrefixRank(slot)),
                  at);
  }

  // Visits the prefixes of `node` (at `depth`) on key's path up to
  // `length` bits, shortest first; false once past `length`.
  template <class Visit>
  static bool VisitCovering(const NodeT* node, int depth, Key key, int length,
                            Visit& visit) {
    const unsigned byte = ByteAt(key, depth);
    for (int bits = 0; bits <= kStride; ++bits) {
      const int len = depth * kStride + bits;
      if (len > length) return false;
      const unsigned slot = SlotOf(byte, bits);
      if (node->HasPrefix(slot)) {
        visit(key & Mask(len), len, node->Value(slot));
      }
    }
    return length > (depth + 1) * kStride;
  }

  // Visits, in address order, the prefixes in `node`'s subtree under `slot`
  // and everything in the children below it. `base` is the node's path.
  template <class Visit>
  static void VisitSubtree(const NodeT* node, int depth, Key base,
                           unsigned slot, Visit& visit) {
    const int top_bits = SlotBits(slot);
    const unsigned lo = (slot - (1u << top_bits)) << (kStride - top_bits);
    const unsigned hi = lo + (1u << (kStride - top_bits));
    // Bytes where something in range starts: each prefix marks its first
    // byte, each child its own.
    uint64_t starts[4];
    for (int w = 0; w < 4; ++w) starts[w] = node->child_bits[w];
    for (int w = 0; w < 8; ++w) {
      for (uint64_t bits = node->prefix_bits[w]; bits != 0; bits &= bits - 1) {
        unsigned s = w * 64 + std::countr_zero(bits);
        int j = SlotBits(s);
        unsigned first = (s - (1u << j)) << (kStride - j);
        starts[first >> 6] |= uint64_t{1} << (first & 63);
      }
    }
    const int shift = kBits - kStride - depth * kStride;
    for (unsigned w = lo >> 6; w <= (hi - 1) >> 6; ++w) {
      uint64_t bits = starts[w];
      for (; bits != 0; bits &= bits - 1) {
        unsigned byte = w * 64 + std::countr_zero(bits);
        if (byte < lo) continue;
        if (byte >= hi) break;
        const Key key = base | (static_cast<Key>(byte) << shift);
        // A prefix starting at byte has at least this many bits: those
        // ending at the byte's lowest set bit.
        int min_bits =
            byte == lo ? top_bits : kStride - std::countr_zero(byte | 0x100u);
        for (int j = min_bits; j <= kStride; ++j) {
          unsigned s = SlotOf(byte, j);
          if (node->HasPrefix(s)) {
            visit(key, depth * kStride + j, node->Value(s));
          }
        }
        if (node->HasChild(byte)) {
          VisitSubtree(node->Child(byte), depth + 1, key, 1, visit);
        }
      }
    }
  }
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_READER_H_
