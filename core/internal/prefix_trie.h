// PrefixTrie<Key, V>: the longest-prefix-match trie behind PrefixTable, on
// raw keys (uint32_t for IPv4, unsigned __int128 for IPv6: the address as a
// number, first bit most significant). A prefix is (key, length) with every
// bit past the length zero.
//
// Structure: stride-8 popcount-compressed nodes (prefix_node.h); IPv4 takes
// at most 4 levels, IPv6 16. Each node carries its cover, the longest
// prefix between it and the root holding all of it, so that a longest
// match walks down the nodes on its path but looks for prefixes only in the
// deepest one. Writes keep the covers up to date: a prefix that changes a
// node's children's covers copies them (and their children, where they
// inherit it): one or none for most prefixes, up to the few hundred nodes
// under it for an IPv4 /8, more for the (rare) shorter ones. The default
// route is left out: it would be every node's cover.
//
// Concurrency: one writer, any number of readers, readers never block.
// Published nodes are immutable. The writer edits a working version: a node
// it has to change is copied once per batch (the copy is private, marked
// with the batch's generation, and edited in place from then on), and so is
// every node on the path above it, up to a private root. Publishing stores
// the working root with one seq_cst store: a reader that loads the root sees
// a complete version, before or after each batch, and every node it reaches
// stays valid while it holds an EpochGuard. The copies a batch replaced are
// retired and freed once every reader pinned before the publish is gone.
// Private nodes the writer drops before publishing are freed at once.
//
// Thread safety: the writer methods (Insert, Remove, BeginBatch, EndBatch,
// Reclaim, working_size) from one thread at a time; the reader methods from
// any thread, each under an EpochGuard (core_internal/epoch_domain.h).
#ifndef KEEL_CORE_INTERNAL_PREFIX_TRIE_H_
#define KEEL_CORE_INTERNAL_PREFIX_TRIE_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

#include "keel/alloc/arena.h"
#include "keel/core/internal/epoch_domain.h"
#include "keel/core/internal/prefix_node.h"
#include "keel/core/internal/prefix_node_pool.h"

namespace keel::core::core_internal {

template <class Key, class V>
class PrefixTrie {
 public:
  static_assert(std::is_trivially_copyable_v<V> && sizeof(V) <= 8);
  static constexpr int kBits = sizeof(Key) * 8;
  static constexpr int kLevels = kBits / kStride;
  using NodeT = Node<V>;

  // A longest-match answer: the prefix's length and its value.
  struct Hit {
    int length;
    V value;
  };

  // REQUIRES: `arena` outlives the trie.
  explicit PrefixTrie(alloc::Arena& arena) : pool_(arena) {}
  // REQUIRES: no reader is inside the trie.
  ~PrefixTrie() {
    FreeTree(working_);
    for (const Retired& r : pending_) Deallocate(r.node);
    for (const Retired& r : retired_) Deallocate(r.node);
    pool_.Flush();
  }
  PrefixTrie(const PrefixTrie&) = delete;
  PrefixTrie& operator=(const PrefixTrie&) = delete;

  static Key Mask(int length) {
    return length == 0 ? Key{0} : ~Key{0} << (kBits - length);
  }

  // ---- Writer -------------------------------------------------------------

  // Sets (key, length) to value; true when it was not there. Published at
  // once unless a batch is open. REQUIRES: key has no bits past length.
  bool Insert(Key key, int length, const V& value) {
    const int target = DepthOf(length);
    NodeT** link = &working_;
    if (*link == nullptr) *link = NewNode();
    for (int depth = 0; depth < target; ++depth) {
      unsigned byte = ByteAt(key, depth);
      NodeT* node = *link;
      if (node->has_child(byte)) {
        node = MakePrivate(node);
      } else {
        NodeT* child = NewNode();
        node = WithChild(node, byte, child);
        SetCover(node, depth, byte, *child);
      }
      *link = node;
      link = &node->children()[node->ChildRank(byte)];
    }
    unsigned slot = SlotOf(ByteAt(key, target), length - target * kStride);
    NodeT* node = *link;
    bool added = !node->has_prefix(slot);
    if (added) {
      node = WithPrefix(node, slot, value);
      ++working_size_;
    } else {
      node = MakePrivate(node);
      node->values()[node->PrefixRank(slot)] = value;
    }
    *link = node;
    RefreshCovers(node, target, slot);
    Changed();
    return added;
  }

  // Removes (key, length); true when it was there. Nodes left empty go.
  bool Remove(Key key, int length) {
    const int target = DepthOf(length);
    const unsigned slot =
        SlotOf(ByteAt(key, target), length - target * kStride);
    // Look first: a missing prefix must not copy anything.
    const NodeT* probe = working_;
    for (int depth = 0; probe != nullptr && depth < target; ++depth) {
      unsigned byte = ByteAt(key, depth);
      probe = probe->has_child(byte) ? probe->child(byte) : nullptr;
    }
    if (probe == nullptr || !probe->has_prefix(slot)) return false;

    NodeT** links[kLevels];
    links[0] = &working_;
    for (int depth = 0; depth < target; ++depth) {
      NodeT* node = MakePrivate(*links[depth]);
      *links[depth] = node;
      unsigned byte = ByteAt(key, depth);
      links[depth + 1] = &node->children()[node->ChildRank(byte)];
    }
    *links[target] = WithoutPrefix(*links[target], slot);
    RefreshCovers(*links[target], target, slot);
    --working_size_;
    for (int depth = target; depth >= 0; --depth) {
      NodeT* node = *links[depth];
      if (!node->empty()) break;
      Free(node);
      if (depth == 0) {
        working_ = nullptr;
        break;
      }
      *links[depth - 1] =
          WithoutChild(*links[depth - 1], ByteAt(key, depth - 1));
    }
    Changed();
    return true;
  }

  // Holds back publication until the matching EndBatch (batches nest).
  void BeginBatch() { ++batch_depth_; }
  void EndBatch() {
    if (--batch_depth_ == 0) Publish();
  }

  // Frees the retired nodes no reader can still reach. Publishing calls it;
  // call it after readers finish to free what they held back.
  void Reclaim() {
    if (retired_.empty()) return;
    uint64_t oldest = EpochDomain::OldestPinned();
    size_t freed = 0;
    while (freed < retired_.size() && retired_[freed].tag <= oldest) {
      Deallocate(retired_[freed].node);
      ++freed;
    }
    retired_.erase(retired_.begin(), retired_.begin() + freed);
  }

  // Returns the freed nodes the writer keeps for reuse to the arena.
  void FlushPool() { pool_.Flush(); }
  size_t pooled_bytes() const { return pool_.cached_bytes(); }

  // Prefixes in the working version (what the writer has written so far).
  size_t working_size() const { return working_size_; }
  // Bytes the nodes hold in the arena, retired ones included.
  size_t node_bytes() const {
    return node_bytes_.load(std::memory_order_relaxed);
  }

  // ---- Readers (under an EpochGuard) ---------------------------------------

  // Prefixes in the published version.
  size_t size() const {
    return published_size_.load(std::memory_order_relaxed);
  }

  std::optional<V> Exact(Key key, int length) const {
    const int target = DepthOf(length);
    const NodeT* node = root();
    for (int depth = 0; node != nullptr && depth < target; ++depth) {
      unsigned byte = ByteAt(key, depth);
      node = node->has_child(byte) ? node->child(byte) : nullptr;
    }
    if (node == nullptr) return std::nullopt;
    unsigned slot = SlotOf(ByteAt(key, target), length - target * kStride);
    if (!node->has_prefix(slot)) return std::nullopt;
    return node->value(slot);
  }

  // The longest prefix holding the address `key`: down to the deepest node
  // on its path, whose own prefixes and cover hold the answer.
  std::optional<Hit> Longest(Key key) const {
    const NodeT* root_node = OrEmpty(root());
    Walk walk = Start(root_node);
    for (int depth = 0; depth + 1 < kLevels; ++depth) {
      const unsigned byte = ByteAt(key, depth);
      if (!walk.node->has_child(byte)) break;
      walk.node = walk.deepest = walk.node->child(byte);
      walk.depth = depth + 1;
      // The header's first two lines come with the loads below; the value
      // (or the cover) sits in the next two for most nodes, but its place
      // is known only once the header arrives: fetch them meanwhile.
      const char* at = reinterpret_cast<const char*>(walk.node);
      __builtin_prefetch(at + 128);
      __builtin_prefetch(at + 192);
    }
    Hit hit;
    std::memcpy(&hit.value,
                Answer(walk, key, DefaultRoute(root_node), &hit.length),
                sizeof(V));
    if (hit.length < 0) return std::nullopt;
    return hit;
  }

  // Longest for keys[0..n), into out[0..n). Takes the keys kGroup at a
  // time a level at a time, so that the group's cache misses at each level
  // are in flight together, and walks the top levels without a branch on
  // the keys (a walk past its key's path goes through kEmpty): random keys
  // would mispredict it.
  void LongestBatch(const Key* keys, size_t n, std::optional<V>* out) const {
    const NodeT* root_node = OrEmpty(root());
    const Fallback fallback = DefaultRoute(root_node);
    Walk walks[kGroup];
    NodeT* const* links[kGroup];
    const unsigned char* values[kGroup];
    int lengths[kGroup];
    for (size_t begin = 0; begin < n; begin += kGroup) {
      const size_t count = std::min(kGroup, n - begin);
      const Key* group = keys + begin;
      for (size_t i = 0; i < count; ++i) walks[i] = Start(root_node);
      // Each pass over the group issues its loads back to back: first the
      // child pointers, then the children, then the values.
      int depth = 0;
      for (; depth < kFixedSteps; ++depth) {
        for (size_t i = 0; i < count; ++i) {
          links[i] = Link(walks[i], group[i], depth);
          __builtin_prefetch(links[i]);
        }
        for (size_t i = 0; i < count; ++i) {
          const NodeT* child = *links[i];
          Descend(walks[i], child, depth);
          const char* header = reinterpret_cast<const char*>(child);
          __builtin_prefetch(header);
          __builtin_prefetch(header + 64);
          __builtin_prefetch(header + 128);
        }
      }
      for (bool any = true; any && depth + 1 < kLevels; ++depth) {
        any = false;
        for (size_t i = 0; i < count; ++i) {
          const NodeT* node = walks[i].node;
          const unsigned byte = ByteAt(group[i], depth);
          if (node->has_child(byte)) {
            walks[i].node = walks[i].deepest = node->child(byte);
            walks[i].depth = depth + 1;
            any = true;
          } else {
            walks[i].node = &kEmpty;
          }
        }
      }
      for (size_t i = 0; i < count; ++i) {
        values[i] = Answer(walks[i], group[i], fallback, &lengths[i]);
        __builtin_prefetch(values[i]);
      }
      for (size_t i = 0; i < count; ++i) {
        V value;
        std::memcpy(&value, values[i], sizeof(V));
        out[begin + i] =
            lengths[i] < 0 ? std::nullopt : std::optional<V>(value);
      }
    }
  }

  // Calls visit(key, length, value) for every prefix covering (key, length),
  // itself included, shortest first.
  template <class Visit>
  void LessSpecifics(Key key, int length, Visit&& visit) const {
    const NodeT* node = root();
    for (int depth = 0; node != nullptr; ++depth) {
      unsigned byte = ByteAt(key, depth);
      for (int bits = 0; bits <= kStride; ++bits) {
        int len = depth * kStride + bits;
        if (len > length) return;
        unsigned slot = SlotOf(byte, bits);
        if (node->has_prefix(slot))
          visit(key & Mask(len), len, node->value(slot));
      }
      if (length <= (depth + 1) * kStride || depth + 1 == kLevels ||
          !node->has_child(byte)) {
        return;
      }
      node = node->child(byte);
    }
  }

  // Calls visit(key, length, value) for every prefix inside (key, length),
  // itself included, in address order (then shorter first).
  template <class Visit>
  void MoreSpecifics(Key key, int length, Visit&& visit) const {
    const int target = DepthOf(length);
    const NodeT* node = root();
    for (int depth = 0; node != nullptr && depth < target; ++depth) {
      unsigned byte = ByteAt(key, depth);
      node = node->has_child(byte) ? node->child(byte) : nullptr;
    }
    if (node == nullptr) return;
    unsigned slot = SlotOf(ByteAt(key, target), length - target * kStride);
    VisitSubtree(node, target, key & Mask(target * kStride), slot, visit);
  }

  template <class Visit>
  void ForEach(Visit&& visit) const {
    MoreSpecifics(Key{0}, 0, visit);
  }

 private:
  // Lookups a batch walks side by side.
  static constexpr size_t kGroup = 16;
  // Levels a batch walks without a branch. Below them random keys on a
  // full IPv4 table all but never find a node, so a branch there is
  // predicted right and skips the work for the rest of the group.
  static constexpr int kFixedSteps = std::min(kLevels - 1, 2);
  // Where walks go past the last node on a key's path: no prefixes, no
  // children, no cover. Never written.
  static constexpr NodeT kEmpty = [] {
    NodeT node{};
    node.cover_length = -1;
    return node;
  }();
  static inline NodeT* const kEmptyLink = const_cast<NodeT*>(&kEmpty);
  // The node cache may hold this much, or a 16th of the nodes' bytes.
  static constexpr size_t kMinPoolBytes = 64 << 10;

  struct Retired {
    NodeT* node;
    uint64_t tag;  // free once no reader is pinned before this epoch
  };

  static unsigned ByteAt(Key key, int depth) {
    return static_cast<unsigned>(key >> (kBits - kStride - depth * kStride)) &
           0xff;
  }
  // The depth of the node holding prefixes of `length` bits.
  static int DepthOf(int length) {
    return length == 0 ? 0 : (length - 1) / kStride;
  }

  const NodeT* root() const { return root_.load(std::memory_order_seq_cst); }

  // A longest-match walk in progress: the node to read next (kEmpty past
  // the key's path) and the deepest node of the path so far, whose cover
  // stands for every node above it (the default route aside).
  struct Walk {
    const NodeT* node;
    const NodeT* deepest;
    int depth;  // deepest's
  };
  // The answer when nothing else matches: the default route, or none.
  struct Fallback {
    const unsigned char* value;  // kEmpty's cover for none
    int length;                  // -1 for none
  };

  static const NodeT* OrEmpty(const NodeT* root_node) {
    return root_node == nullptr ? &kEmpty : root_node;
  }
  // REQUIRES: root_node is not null (OrEmpty).
  static Walk Start(const NodeT* root_node) {
    return {root_node, root_node, 0};
  }
  // The default route is slot 1 of the root, so the root's first value.
  static Fallback DefaultRoute(const NodeT* root_node) {
    const uint64_t has_default = root_node->prefix_bits[0] & 2;
    return {Select(has_default,
                   reinterpret_cast<const unsigned char*>(root_node->values()),
                   kEmpty.cover_value),
            Select(has_default, 0, -1)};
  }

  // Where the child of walk.node on key's path sits: a link to kEmpty when
  // there is none.
  static NodeT* const* Link(const Walk& walk, Key key, int depth) {
    return walk.node->ChildLink(ByteAt(key, depth), &kEmptyLink);
  }
  static void Descend(Walk& walk, const NodeT* child, int depth) {
    const bool real = child != &kEmpty;
    walk.deepest = Select(real, child, walk.deepest);
    walk.depth = Select(real, depth + 1, walk.depth);
    walk.node = child;
  }
  // Where the answer's value sits (kEmpty's cover for none), and its
  // length in *length (-1 for none): the deepest node's longest prefix on
  // key's path, else its cover, else the default route.
  static const unsigned char* Answer(const Walk& walk, Key key,
                                     const Fallback& fallback, int* length) {
    const NodeT* node = walk.deepest;
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
          if (node->has_prefix(s)) {
            visit(key, depth * kStride + j, node->value(s));
          }
        }
        if (node->has_child(byte)) {
          VisitSubtree(node->child(byte), depth + 1, key, 1, visit);
        }
      }
    }
  }

  // ---- Writer internals ----------------------------------------------------

  bool IsPrivate(const NodeT* node) const {
    return node->generation == generation_;
  }

  NodeT* Allocate(size_t bytes) {
    uint32_t capacity = NodeCapacity(bytes);
    node_bytes_.store(node_bytes() + capacity, std::memory_order_relaxed);
    return static_cast<NodeT*>(pool_.Allocate(capacity));
  }
  void Deallocate(NodeT* node) {
    uint32_t capacity = NodeCapacity(node->bytes());
    size_t live = node_bytes() - capacity;
    node_bytes_.store(live, std::memory_order_relaxed);
    pool_.Deallocate(node, capacity, std::max(kMinPoolBytes, live / 16));
  }
  // Drops a node from the working version: private ones go now, published
  // ones when the readers that may see them are gone.
  void Free(NodeT* node) {
    if (IsPrivate(node)) {
      Deallocate(node);
    } else {
      pending_.push_back({node, 0});
    }
  }

  NodeT* NewNode() {
    NodeT* node = Allocate(sizeof(NodeHeader));
    std::memset(static_cast<void*>(node), 0, sizeof(NodeHeader));
    node->generation = generation_;
    node->cover_length = -1;
    return node;
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
      child.cover_length = node->cover_length;
      std::memcpy(child.cover_value, node->cover_value, sizeof(V));
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
        NodeHeader want{};
        SetCover(node, depth, byte, want);
        if (want.cover_length == link->cover_length &&
            std::memcmp(want.cover_value, link->cover_value, sizeof(V)) == 0) {
          continue;
        }
        NodeT* child = MakePrivate(link);
        link = child;
        child->cover_length = want.cover_length;
        std::memcpy(child->cover_value, want.cover_value, sizeof(V));
        RefreshChildren(child, depth + 1, 0, 1u << kStride);
      }
    }
  }

  // `node` itself when it is private and its capacity holds `bytes`;
  // otherwise a fresh private node of that capacity with node's header,
  // which the caller fills. The old node is freed by the caller.
  NodeT* Reserve(NodeT* node, size_t bytes) {
    if (IsPrivate(node) && NodeCapacity(bytes) == NodeCapacity(node->bytes())) {
      return node;
    }
    NodeT* fresh = Allocate(bytes);
    std::memcpy(static_cast<void*>(fresh), node, sizeof(NodeHeader));
    fresh->generation = generation_;
    return fresh;
  }

  NodeT* MakePrivate(NodeT* node) {
    if (IsPrivate(node)) return node;
    NodeT* copy = Allocate(node->bytes());
    std::memcpy(static_cast<void*>(copy), node, node->bytes());
    copy->generation = generation_;
    Free(node);
    return copy;
  }

  // The arrays of `from` copied into `to` with a gap (or a cut) of `width`
  // bytes at byte `at` of the part after the header. Works in place.
  static void Splice(const NodeT* from, NodeT* to, size_t at, size_t old_tail,
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

  NodeT* WithChild(NodeT* node, unsigned byte, NodeT* child) {
    size_t old_bytes = node->bytes();
    NodeT* out = Reserve(node, old_bytes + sizeof(NodeT*));
    unsigned rank = node->ChildRank(byte);
    Splice(node, out, rank * sizeof(NodeT*), old_bytes - sizeof(NodeHeader),
           sizeof(NodeT*));
    out->child_bits[byte >> 6] |= uint64_t{1} << (byte & 63);
    out->Recount();
    out->children()[rank] = child;
    if (out != node) Free(node);
    return out;
  }

  NodeT* WithoutChild(NodeT* node, unsigned byte) {
    size_t old_bytes = node->bytes();
    NodeT* out = Reserve(node, old_bytes - sizeof(NodeT*));
    unsigned rank = node->ChildRank(byte);
    Splice(node, out, rank * sizeof(NodeT*), old_bytes - sizeof(NodeHeader),
           -static_cast<ptrdiff_t>(sizeof(NodeT*)));
    out->child_bits[byte >> 6] &= ~(uint64_t{1} << (byte & 63));
    out->Recount();
    if (out != node) Free(node);
    return out;
  }

  NodeT* WithPrefix(NodeT* node, unsigned slot, const V& value) {
    size_t old_bytes = node->bytes();
    NodeT* out = Reserve(node, old_bytes + sizeof(V));
    unsigned rank = node->PrefixRank(slot);
    size_t at = node->child_count * sizeof(NodeT*) + rank * sizeof(V);
    Splice(node, out, at, old_bytes - sizeof(NodeHeader), sizeof(V));
    out->prefix_bits[slot >> 6] |= uint64_t{1} << (slot & 63);
    out->Recount();
    out->values()[rank] = value;
    if (out != node) Free(node);
    return out;
  }

  NodeT* WithoutPrefix(NodeT* node, unsigned slot) {
    size_t old_bytes = node->bytes();
    NodeT* out = Reserve(node, old_bytes - sizeof(V));
    unsigned rank = node->PrefixRank(slot);
    size_t at = node->child_count * sizeof(NodeT*) + rank * sizeof(V);
    Splice(node, out, at, old_bytes - sizeof(NodeHeader),
           -static_cast<ptrdiff_t>(sizeof(V)));
    out->prefix_bits[slot >> 6] &= ~(uint64_t{1} << (slot & 63));
    out->Recount();
    if (out != node) Free(node);
    return out;
  }

  void Changed() {
    if (batch_depth_ == 0) Publish();
  }

  void Publish() {
    root_.store(working_, std::memory_order_seq_cst);
    published_size_.store(working_size_, std::memory_order_relaxed);
    ++generation_;
    if (!pending_.empty()) {
      uint64_t tag = EpochDomain::Advance();
      for (const Retired& r : pending_) retired_.push_back({r.node, tag});
      pending_.clear();
    }
    Reclaim();
  }

  void FreeTree(NodeT* node) {
    if (node == nullptr) return;
    for (unsigned i = 0; i < node->child_count; ++i) {
      FreeTree(node->children()[i]);
    }
    Deallocate(node);
  }

  PrefixNodePool pool_;
  std::atomic<const NodeT*> root_{nullptr};  // the published version
  std::atomic<size_t> published_size_{0};
  std::atomic<size_t> node_bytes_{0};
  NodeT* working_ = nullptr;
  size_t working_size_ = 0;
  uint64_t generation_ = 1;
  int batch_depth_ = 0;
  std::vector<Retired> pending_;  // replaced since the last publish
  std::vector<Retired> retired_;  // published-over, in tag order
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_INTERNAL_PREFIX_TRIE_H_
