// PrefixTrieShape<Key, V>: the layout PrefixTrie's reader and writer share:
// how a key splits into directory index, node depth, byte and slot, how a
// directory entry reads, and the shared bare chunk and empty version (see
// prefix_trie.h for the structure).
//
// Thread safety: stateless; the constants are never written.
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_SHAPE_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_SHAPE_H_

#include <cstdint>
#include <type_traits>

#include "core/prefixes/internal/prefix_directory.h"
#include "core/prefixes/internal/prefix_node.h"

namespace keel::core::core_internal {

template <class Key, class V>
struct PrefixTrieShape {
  static_assert(std::is_trivially_copyable_v<V> && sizeof(V) <= 8);
  static constexpr int kBits = sizeof(Key) * 8;
  static constexpr int kLevels = kBits / kStride;
  // The node levels the directory stands in front of.
  static constexpr int kUpperLevels = kDirectoryBits / kStride;
  using NodeT = Node<V>;
  using Chunk = DirectoryChunk<V>;
  using Version = DirectoryVersion<V>;

  static Key Mask(int length) {
    return length == 0 ? Key{0} : ~Key{0} << (kBits - length);
  }

  // Every entry bare: the chunk of every /16 range holding nothing, and
  // the version of an empty trie. Never written.
  static constexpr Chunk kBareChunk = [] {
    Chunk chunk{};
    for (uintptr_t& word : chunk.words) word = Chunk::kBareLeaf;
    return chunk;
  }();
  static constexpr Version kEmptyVersion = [] {
    Version version{};
    version.default_length = -1;
    for (const Chunk*& chunk : version.chunks) chunk = &kBareChunk;
    return version;
  }();

  static unsigned ByteAt(Key key, int depth) {
    return static_cast<unsigned>(key >> (kBits - kStride - depth * kStride)) &
           0xff;
  }
  // The depth of the node holding prefixes of `length` bits.
  static int DepthOf(int length) {
    return length == 0 ? 0 : (length - 1) / kStride;
  }
  static unsigned DirectoryIndex(Key key) {
    return static_cast<unsigned>(key >> (kBits - kDirectoryBits));
  }
  static const uintptr_t& EntryWord(const Version& version, unsigned index) {
    return version.chunks[index / kChunkEntries]->words[index % kChunkEntries];
  }
  // The node under entry `index`, or null.
  static NodeT* EntryNode(const Version& version, unsigned index) {
    const uintptr_t word = EntryWord(version, index);
    return Chunk::IsLeaf(word) ? nullptr : reinterpret_cast<NodeT*>(word);
  }
  // The slot of (key, length) in the node holding it.
  static unsigned SlotFor(Key key, int length) {
    const int depth = DepthOf(length);
    return SlotOf(ByteAt(key, depth), length - depth * kStride);
  }
  // The node on key's path at depth `target`, from `node` at `depth`, or
  // null when the path ends before it.
  static const NodeT* Descend(const NodeT* node, int depth, Key key,
                              int target) {
    for (; node != nullptr && depth < target; ++depth) {
      const unsigned byte = ByteAt(key, depth);
      node = node->HasChild(byte) ? node->Child(byte) : nullptr;
    }
    return node;
  }
  // The node that holds (key, length) when it is in the table, or null.
  static const NodeT* Holder(const Version& version, Key key, int length) {
    return length <= kDirectoryBits
               ? Descend(version.upper, 0, key, DepthOf(length))
               : Descend(EntryNode(version, DirectoryIndex(key)), kUpperLevels,
                         key, DepthOf(length));
  }
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_SHAPE_H_
