// PrefixTrieWriter<Key, V>: PrefixTrie's one writer (prefix_trie.h
// describes the structure). Inserts and removes prefixes in the working
// version (PrefixTrieVersions copies what it changes) and keeps the covers
// and the directory's leaves up to date: a prefix of 16 bits or fewer
// rewrites the entries it holds and copies the nodes whose cover changes.
// Publishes after each write, or at the end of the outermost batch.
//
// Thread safety: the writer methods (Insert, Remove, BeginBatch, EndBatch,
// Reclaim, FlushPool, working_size) from one thread at a time; the rest of
// PrefixTrieVersions' public methods from any thread.
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_WRITER_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_WRITER_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "alloc/arena.h"
#include "core/prefixes/internal/prefix_directory.h"
#include "core/prefixes/internal/prefix_node.h"
#include "core/prefixes/internal/prefix_trie_shape.h"
#include "core/prefixes/internal/prefix_trie_versions.h"

namespace keel::core::core_internal {

template <class Key, class V>
class PrefixTrieWriter : public PrefixTrieVersions<Key, V> {
  using Base = PrefixTrieVersions<Key, V>;
  using Shape = PrefixTrieShape<Key, V>;
  using Base::Free;
  using Base::MakePrivate;
  using Base::NewNode;
  using Base::PrivateVersion;
  using Base::Publish;
  using Base::SetEntryLeaf;
  using Base::SetEntryNode;
  using Base::WithChild;
  using Base::WithoutChild;
  using Base::WithoutPrefix;
  using Base::WithPrefix;
  using Shape::ByteAt;
  using Shape::DepthOf;
  using Shape::DirectoryIndex;
  using Shape::EntryNode;
  using Shape::Holder;
  using Shape::kLevels;
  using Shape::kUpperLevels;
  using Shape::SlotFor;
  using typename Shape::NodeT;

 public:
  using typename Base::Version;

  // REQUIRES: `arena` outlives the writer.
  explicit PrefixTrieWriter(alloc::Arena& arena) : Base(arena) {}

  // Sets (key, length) to value; true when it was not there. Published at
  // once unless a batch is open. REQUIRES: key has no bits past length.
  bool Insert(Key key, int length, const V& value) {
    Version* version = PrivateVersion();
    bool added;
    if (length <= kDirectoryBits) {
      if (version->upper == nullptr) version->upper = NewNode();
      added = InsertBelow(&version->upper, 0, key, length, value);
      RefreshDirectory(version, key, length);
    } else {
      const unsigned index = DirectoryIndex(key);
      NodeT* node = EntryNode(*version, index);
      if (node == nullptr) {
        node = NewNode();
        UpperCover(version->upper, index, *node);
      }
      added = InsertBelow(&node, kUpperLevels, key, length, value);
      SetEntryNode(version, index, node);
    }
    if (added) ++working_size_;
    Changed();
    return added;
  }

  // Removes (key, length); true when it was there. Nodes left empty go.
  bool Remove(Key key, int length) {
    const Version* working = this->working();
    if (working == nullptr) return false;
    const bool upper = length <= kDirectoryBits;
    const unsigned index = DirectoryIndex(key);
    // Look first: a missing prefix must not copy anything.
    const NodeT* holder = Holder(*working, key, length);
    if (holder == nullptr || !holder->HasPrefix(SlotFor(key, length))) {
      return false;
    }
    Version* version = PrivateVersion();
    if (upper) {
      RemoveBelow(&version->upper, 0, key, length);
      RefreshDirectory(version, key, length);
    } else {
      NodeT* node = EntryNode(*version, index);
      RemoveBelow(&node, kUpperLevels, key, length);
      if (node != nullptr) {
        SetEntryNode(version, index, node);
      } else {
        NodeHeader leaf;
        UpperCover(version->upper, index, leaf);
        SetEntryLeaf(version, index, leaf);
      }
    }
    --working_size_;
    this->DropIfEmpty(version);
    Changed();
    return true;
  }

  // Holds back publication until the matching EndBatch (batches nest).
  void BeginBatch() { ++batch_depth_; }
  void EndBatch() {
    if (--batch_depth_ == 0) Publish(working_size_);
  }

  // Prefixes in the working version (what the writer has written so far).
  size_t working_size() const { return working_size_; }

 private:
  // Sets in `out` the cover of the /16 `index`: the longest prefix of 16
  // bits or fewer holding it (the default route aside), or none.
  static void UpperCover(const NodeT* root_node, unsigned index,
                         NodeHeader& out) {
    out.cover_length = -1;
    if (root_node == nullptr) return;
    const unsigned first = index >> kStride, second = index & 0xff;
    if (root_node->HasChild(first)) {
      SetCover(root_node->Child(first), 1, second, out);
    } else {
      SetCover(root_node, 0, first, out);
    }
  }

  // After a write of a prefix of 16 bits or fewer: brings the entries it
  // holds up to date, leaves and the covers of the nodes under them.
  void RefreshDirectory(Version* version, Key key, int length) {
    if (length == 0) {  // the default route: no cover, no leaf, the version
      const NodeT* root_node = version->upper;
      const bool present =
          root_node != nullptr && (root_node->prefix_bits[0] & 2) != 0;
      version->default_length = present ? 0 : -1;
      if (present) {
        std::memcpy(version->default_value, &root_node->values()[0], sizeof(V));
      }
      return;
    }
    const unsigned first = DirectoryIndex(key);
    const unsigned end = first + (1u << (kDirectoryBits - length));
    for (unsigned index = first; index < end; ++index) {
      NodeHeader want;
      UpperCover(version->upper, index, want);
      NodeT* node = EntryNode(*version, index);
      if (node == nullptr) {
        SetEntryLeaf(version, index, want);
      } else if (!SameCover(want, *node)) {
        node = MakePrivate(node);
        CopyCover(want, *node);
        RefreshChildren(node, kUpperLevels, 0, 1u << kStride);
        SetEntryNode(version, index, node);
      }
    }
  }

  static bool SameCover(const NodeHeader& a, const NodeHeader& b) {
    return a.cover_length == b.cover_length &&
           std::memcmp(a.cover_value, b.cover_value, sizeof(V)) == 0;
  }
  static void CopyCover(const NodeHeader& from, NodeHeader& to) {
    to.cover_length = from.cover_length;
    std::memcpy(to.cover_value, from.cover_value, sizeof(V));
  }

  // Sets the cover of `node`'s child at `byte` (`node` at `depth`) in
  // `child`: node's longest prefix holding all of the child, else node's
  // own cover. The default route is no node's cover (lookups fall back to
  // it): it would otherwise be every node's, and each change to it would
  // copy the whole trie.
  static void SetCover(const NodeT* node, int depth, unsigned byte,
                       NodeHeader& child) {
    unsigned slot = node->BestSlot(byte);
    if (depth == 0 && slot == 1) slot = 0;
    if (slot != 0) {
      child.cover_length = depth * kStride + SlotBits(slot);
      std::memcpy(child.cover_value, &node->values()[node->PrefixRank(slot)],
                  sizeof(V));
    } else {
      CopyCover(*node, child);
    }
  }

  // Insert below *link, a node at `depth` on key's path. REQUIRES: *link
  // is not null and length > depth * kStride (or both are 0).
  bool InsertBelow(NodeT** link, int depth, Key key, int length,
                   const V& value) {
    const int target = DepthOf(length);
    for (; depth < target; ++depth) {
      unsigned byte = ByteAt(key, depth);
      NodeT* node = *link;
      if (node->HasChild(byte)) {
        node = MakePrivate(node);
      } else {
        NodeT* child = NewNode();
        node = WithChild(node, byte, child);
        SetCover(node, depth, byte, *child);
      }
      *link = node;
      link = &node->children()[node->ChildRank(byte)];
    }
    const unsigned slot = SlotFor(key, length);
    NodeT* node = *link;
    bool added = !node->HasPrefix(slot);
    if (added) {
      node = WithPrefix(node, slot, value);
    } else {
      node = MakePrivate(node);
      node->values()[node->PrefixRank(slot)] = value;
    }
    *link = node;
    RefreshCovers(node, target, slot);
    return added;
  }

  // Remove below *link, a node at `start` on key's path, the subtree
  // holding (key, length); sets *link to null when it is left empty.
  void RemoveBelow(NodeT** link, int start, Key key, int length) {
    const int target = DepthOf(length);
    const unsigned slot = SlotFor(key, length);
    NodeT** links[kLevels];
    links[start] = link;
    for (int depth = start; depth < target; ++depth) {
      NodeT* node = MakePrivate(*links[depth]);
      *links[depth] = node;
      unsigned byte = ByteAt(key, depth);
      links[depth + 1] = &node->children()[node->ChildRank(byte)];
    }
    *links[target] = WithoutPrefix(*links[target], slot);
    RefreshCovers(*links[target], target, slot);
    for (int depth = target; depth >= start; --depth) {
      NodeT* node = *links[depth];
      if (!node->empty()) break;
      Free(node);
      if (depth == start) {
        *link = nullptr;
        break;
      }
      *links[depth - 1] =
          WithoutChild(*links[depth - 1], ByteAt(key, depth - 1));
    }
  }

  // After `slot` of `node` (private, at `depth`) changed: brings the covers
  // of the children under the slot, and of theirs, up to date. Copies only
  // the nodes whose cover changes, and stops below them where a prefix of
  // their own shadows it.
  void RefreshCovers(NodeT* node, int depth, unsigned slot) {
    if (depth == 0 && slot == 1) return;  // the default route
    const int bits = SlotBits(slot);
    const unsigned lo = (slot - (1u << bits)) << (kStride - bits);
    RefreshChildren(node, depth, lo, lo + (1u << (kStride - bits)));
  }
  void RefreshChildren(NodeT* node, int depth, unsigned lo, unsigned hi) {
    for (unsigned w = lo >> 6; w <= (hi - 1) >> 6; ++w) {
      for (uint64_t bits = node->child_bits[w]; bits != 0; bits &= bits - 1) {
        const unsigned byte = w * 64 + std::countr_zero(bits);
        if (byte < lo) continue;
        if (byte >= hi) break;
        NodeT*& link = node->children()[node->ChildRank(byte)];
        NodeHeader want;
        SetCover(node, depth, byte, want);
        if (SameCover(want, *link)) continue;
        NodeT* child = MakePrivate(link);
        link = child;
        CopyCover(want, *child);
        RefreshChildren(child, depth + 1, 0, 1u << kStride);
      }
    }
  }

  void Changed() {
    if (batch_depth_ == 0) Publish(working_size_);
  }

  size_t working_size_ = 0;
  int batch_depth_ = 0;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_WRITER_H_
