// PrefixTrie<Key, V>: the longest-prefix-match trie behind PrefixTable, on
// raw keys (uint32_t for IPv4, unsigned __int128 for IPv6: the address as a
// number, first bit most significant). A prefix is (key, length) with every
// bit past the length zero.
//
// Structure: stride-8 popcount-compressed nodes (prefix_node.h) under a
// directory of the first 16 bits (prefix_directory.h). Prefixes of 16 bits
// or fewer sit in two levels of nodes (the "upper" ones: a root and its
// children, which have none of their own). Each longer prefix sits in the
// nodes under its /16's directory entry, from depth 2 down (IPv4: at most 2
// levels, IPv6: 14). Each node carries its cover, the longest prefix above
// it holding all of it, so that a longest match reads its directory entry
// and walks down the nodes under it but looks for prefixes only in the
// deepest one; a /16 with no node under it has its answer in the entry
// itself (leaf pushing). Writes keep covers and leaves up to date: a prefix
// of 16 bits or fewer rewrites the entries it holds and copies the nodes
// whose cover changes (one entry for a /16, 256 for an IPv4 /8, more for
// the rare shorter ones). The default route is no node's cover and no
// leaf's: it would be all of them; lookups fall back to it.
//
// Concurrency: one writer, any number of readers, readers never block.
// Published nodes, chunks and versions are immutable. The writer edits a
// working version: a node it has to change is copied once per batch (the
// copy is private, marked with the batch's generation, and edited in place
// from then on), and so is every node on the path above it, the directory
// chunk that points to the path, and the version. Publishing stores the
// working version with one seq_cst store: a reader that loads it sees a
// complete table, before or after each batch, and everything it reaches
// stays valid while it holds an EpochGuard. What a batch replaced is retired
// and freed once every reader pinned before the publish is gone. Private
// blocks the writer drops before publishing are freed at once.
//
// Thread safety: the writer methods (Insert, Remove, BeginBatch, EndBatch,
// Reclaim, working_size) from one thread at a time; the reader methods from
// any thread, each under an EpochGuard (core_internal/epoch_domain.h).
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

#include "alloc/arena.h"
#include "alloc/growth_policy.h"
#include "core/prefixes/internal/epoch_domain.h"
#include "core/prefixes/internal/prefix_directory.h"
#include "core/prefixes/internal/prefix_node.h"
#include "core/prefixes/internal/prefix_node_pool.h"

namespace keel::core::core_internal {

template <class Key, class V>
class PrefixTrie {
 public:
  static_assert(std::is_trivially_copyable_v<V> && sizeof(V) <= 8);
  static constexpr int kBits = sizeof(Key) * 8;
  static constexpr int kLevels = kBits / kStride;
  // The node levels the directory stands in front of.
  static constexpr int kUpperLevels = kDirectoryBits / kStride;
  using NodeT = Node<V>;
  using Chunk = DirectoryChunk<V>;
  using Version = DirectoryVersion<V>;

  // A longest-match answer: the prefix's length and its value.
  struct Hit {
    int length;
    V value;
  };

  // REQUIRES: `arena` outlives the trie.
  explicit PrefixTrie(alloc::Arena& arena) : arena_(arena), pool_(arena) {}
  // REQUIRES: no reader is inside the trie.
  ~PrefixTrie() {
    FreeVersion(working_);
    for (const Retired& r : pending_) Deallocate(r.block, r.capacity);
    for (const Retired& r : retired_) Deallocate(r.block, r.capacity);
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
    if (working_ == nullptr) return false;
    const bool upper = length <= kDirectoryBits;
    const unsigned index = DirectoryIndex(key);
    // Look first: a missing prefix must not copy anything.
    const NodeT* holder = Holder(*working_, key, length);
    if (holder == nullptr || !holder->has_prefix(SlotFor(key, length))) {
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
    if (version->upper == nullptr && version->chunk_count == 0) {
      Deallocate(version, VersionCapacity());  // private: PrivateVersion
      working_ = nullptr;
    }
    Changed();
    return true;
  }

  // Holds back publication until the matching EndBatch (batches nest).
  void BeginBatch() { ++batch_depth_; }
  void EndBatch() {
    if (--batch_depth_ == 0) Publish();
  }

  // Frees the retired blocks no reader can still reach. Publishing calls
  // it; call it after readers finish to free what they held back.
  void Reclaim() {
    if (retired_.empty()) return;
    uint64_t oldest = EpochDomain::OldestPinned();
    size_t freed = 0;
    while (freed < retired_.size() && retired_[freed].tag <= oldest) {
      Deallocate(retired_[freed].block, retired_[freed].capacity);
      ++freed;
    }
    retired_.erase(retired_.begin(), retired_.begin() + freed);
  }

  // Returns the freed nodes the writer keeps for reuse to the arena.
  void FlushPool() { pool_.Flush(); }
  size_t pooled_bytes() const { return pool_.cached_bytes(); }

  // Prefixes in the working version (what the writer has written so far).
  size_t working_size() const { return working_size_; }
  // Bytes the nodes, chunks and versions hold in the arena, retired ones
  // included.
  size_t node_bytes() const {
    return node_bytes_.load(std::memory_order_relaxed);
  }

  // ---- Readers (under an EpochGuard) ---------------------------------------

  // Prefixes in the published version.
  size_t size() const {
    return published_size_.load(std::memory_order_relaxed);
  }

  std::optional<V> Exact(Key key, int length) const {
    const NodeT* node = Holder(Published(), key, length);
    const unsigned slot = SlotFor(key, length);
    if (node == nullptr || !node->has_prefix(slot)) return std::nullopt;
    return node->value(slot);
  }

  // The longest prefix holding the address `key`, length -1 for none (the
  // value is then meaningless): its directory entry's leaf, or down the
  // nodes under the entry to the deepest on key's path, whose own prefixes
  // and cover hold the answer. Without an optional, a caller testing the
  // result can do so without a branch: a third of random addresses have no
  // route.
  [[gnu::always_inline]] Hit Find(Key key) const {
    const Version& version = Published();
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
      // bitmaps in its first (1-2 ns of the 22-30 a node lookup takes).
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
  void LongestBatch(const Key* keys, size_t n, std::optional<V>* out) const {
    const Version& version = Published();
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
  void LessSpecifics(Key key, int length, Visit&& visit) const {
    const Version& version = Published();
    const NodeT* node = version.upper;
    for (int depth = 0; node != nullptr; ++depth) {
      if (!VisitCovering(node, depth, key, length, visit)) return;
      const unsigned byte = ByteAt(key, depth);
      node = depth + 1 < kUpperLevels && node->has_child(byte)
                 ? node->child(byte)
                 : nullptr;
    }
    if (length <= kDirectoryBits) return;
    node = EntryNode(version, DirectoryIndex(key));
    for (int depth = kUpperLevels; node != nullptr; ++depth) {
      if (!VisitCovering(node, depth, key, length, visit)) return;
      if (depth + 1 == kLevels) return;
      const unsigned byte = ByteAt(key, depth);
      node = node->has_child(byte) ? node->child(byte) : nullptr;
    }
  }

  // Calls visit(key, length, value) for every prefix inside (key, length),
  // itself included, in address order (then shorter first).
  template <class Visit>
  void MoreSpecifics(Key key, int length, Visit&& visit) const {
    const Version& version = Published();
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
          if (node != nullptr && node->has_prefix(slot)) {
            visit(base, len, node->value(slot));
          }
        }
      }
      if (const NodeT* node = EntryNode(version, index)) {
        VisitSubtree(node, kUpperLevels, base, 1, visit);
      }
    }
  }

  template <class Visit>
  void ForEach(Visit&& visit) const {
    MoreSpecifics(Key{0}, 0, visit);
  }

 private:
  // Lookups a batch takes at a time.
  static constexpr size_t kGroup = 64;
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
  // The node cache may hold this much, or a 16th of the nodes' bytes.
  static constexpr size_t kMinPoolBytes = 64 << 10;
  static uint32_t ChunkCapacity() { return NodeCapacity(sizeof(Chunk)); }
  static uint32_t VersionCapacity() {
    static const uint32_t capacity =
        static_cast<uint32_t>(alloc::GrowthPolicy(sizeof(Version)).first());
    return capacity;
  }

  struct Retired {
    void* block;
    uint32_t capacity;
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
      node = node->has_child(byte) ? node->child(byte) : nullptr;
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

  const Version& Published() const {
    return *published_.load(std::memory_order_seq_cst);
  }

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
      if (!walk.node->has_child(byte)) break;
      walk.node = walk.node->child(byte);
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
  // hit as a batch result, chosen without a branch: a third of random
  // addresses have no route.
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
      if (node->has_prefix(slot)) {
        visit(key & Mask(len), len, node->value(slot));
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

  // Blocks come from the node cache up to its largest class, else from the
  // arena (only versions are larger).
  void* Allocate(uint32_t capacity) {
    node_bytes_.store(node_bytes() + capacity, std::memory_order_relaxed);
    return capacity <= kMaxNodeBytes ? pool_.Allocate(capacity)
                                     : arena_.Allocate(capacity);
  }
  void Deallocate(void* block, uint32_t capacity) {
    size_t live = node_bytes() - capacity;
    node_bytes_.store(live, std::memory_order_relaxed);
    if (capacity <= kMaxNodeBytes) {
      pool_.Deallocate(block, capacity, std::max(kMinPoolBytes, live / 16));
    } else {
      arena_.Deallocate(block, capacity);
    }
  }
  NodeT* AllocateNode(size_t bytes) {
    return static_cast<NodeT*>(Allocate(NodeCapacity(bytes)));
  }
  // Drops a block from the working version: private ones go now, published
  // ones when the readers that may see them are gone.
  void Free(void* block, uint32_t capacity, bool is_private) {
    if (is_private) {
      Deallocate(block, capacity);
    } else {
      pending_.push_back({block, capacity, 0});
    }
  }
  void Free(NodeT* node) {
    Free(node, NodeCapacity(node->bytes()), IsPrivate(node));
  }

  NodeT* NewNode() {
    NodeT* node = AllocateNode(sizeof(NodeHeader));
    std::memset(static_cast<void*>(node), 0, sizeof(NodeHeader));
    node->generation = generation_;
    node->cover_length = -1;
    return node;
  }

  // The working version, private to this batch.
  Version* PrivateVersion() {
    if (working_ != nullptr && version_generation_ == generation_) {
      return working_;
    }
    Version* fresh = static_cast<Version*>(Allocate(VersionCapacity()));
    std::memcpy(static_cast<void*>(fresh),
                working_ != nullptr ? working_ : &kEmptyVersion,
                sizeof(Version));
    if (working_ != nullptr) Free(working_, VersionCapacity(), false);
    working_ = fresh;
    version_generation_ = generation_;
    return fresh;
  }

  // A chunk copy, 16 bytes a move: memcpy of a fixed 512 bytes compiles to
  // rep movsq, whose start-up costs more than the copy (5-8 ns a write).
  static void CopyChunk(const Chunk& from, Chunk& to) {
    using Block = long long __attribute__((vector_size(16), may_alias));
    static_assert(sizeof(Chunk) % sizeof(Block) == 0 && alignof(Chunk) >= 16);
    const Block* src = reinterpret_cast<const Block*>(&from);
    Block* dst = reinterpret_cast<Block*>(&to);
#pragma GCC unroll 64
    for (size_t i = 0; i < sizeof(Chunk) / sizeof(Block); ++i) dst[i] = src[i];
  }

  // Chunk c of `version`, private to this batch. REQUIRES: version private.
  Chunk* PrivateChunk(Version* version, unsigned c) {
    const Chunk* chunk = version->chunks[c];
    if (chunk != &kBareChunk && chunk_generation_[c] == generation_) {
      return const_cast<Chunk*>(chunk);  // written only while private
    }
    Chunk* fresh = static_cast<Chunk*>(Allocate(ChunkCapacity()));
    CopyChunk(*chunk, *fresh);
    if (chunk == &kBareChunk) {
      ++version->chunk_count;
    } else {
      Free(const_cast<Chunk*>(chunk), ChunkCapacity(), false);
    }
    version->chunks[c] = fresh;
    chunk_generation_[c] = generation_;
    return fresh;
  }

  void SetEntryNode(Version* version, unsigned index, NodeT* node) {
    const uintptr_t word = reinterpret_cast<uintptr_t>(node);
    const unsigned c = index / kChunkEntries, i = index % kChunkEntries;
    if (version->chunks[c]->words[i] == word) return;
    PrivateChunk(version, c)->words[i] = word;
  }

  // Makes entry `index` the leaf of `cover` (the header's cover fields),
  // bare when it has none. Drops a chunk left bare.
  void SetEntryLeaf(Version* version, unsigned index, const NodeHeader& cover) {
    const unsigned c = index / kChunkEntries, i = index % kChunkEntries;
    const Chunk* chunk = version->chunks[c];
    const uintptr_t word =
        cover.cover_length < 0
            ? Chunk::kBareLeaf
            : Chunk::LeafWord(cover.cover_length, cover.cover_value);
    if (chunk->words[i] == word &&
        (word == Chunk::kBareLeaf ||
         chunk->SameLeafValue(i, cover.cover_value))) {
      return;
    }
    Chunk* writable = PrivateChunk(version, c);
    writable->words[i] = word;
    if (word != Chunk::kBareLeaf) {
      writable->SetLeafValue(i, cover.cover_value);
    } else if (writable->bare()) {
      Deallocate(writable, ChunkCapacity());
      version->chunks[c] = &kBareChunk;
      --version->chunk_count;
    }
  }

  // Sets in `out` the cover of the /16 `index`: the longest prefix of 16
  // bits or fewer holding it (the default route aside), or none.
  static void UpperCover(const NodeT* root_node, unsigned index,
                         NodeHeader& out) {
    out.cover_length = -1;
    if (root_node == nullptr) return;
    const unsigned first = index >> kStride, second = index & 0xff;
    if (root_node->has_child(first)) {
      SetCover(root_node->child(first), 1, second, out);
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
    const unsigned slot = SlotFor(key, length);
    NodeT* node = *link;
    bool added = !node->has_prefix(slot);
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

  // `node` itself when it is private and its capacity holds `bytes`;
  // otherwise a fresh private node of that capacity with node's header,
  // which the caller fills. The old node is freed by the caller.
  NodeT* Reserve(NodeT* node, size_t bytes) {
    if (IsPrivate(node) && NodeCapacity(bytes) == NodeCapacity(node->bytes())) {
      return node;
    }
    NodeT* fresh = AllocateNode(bytes);
    std::memcpy(static_cast<void*>(fresh), node, sizeof(NodeHeader));
    fresh->generation = generation_;
    return fresh;
  }

  NodeT* MakePrivate(NodeT* node) {
    if (IsPrivate(node)) return node;
    NodeT* copy = AllocateNode(node->bytes());
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
    published_.store(working_ != nullptr ? working_ : &kEmptyVersion,
                     std::memory_order_seq_cst);
    published_size_.store(working_size_, std::memory_order_relaxed);
    ++generation_;
    if (!pending_.empty()) {
      uint64_t tag = EpochDomain::Advance();
      for (const Retired& r : pending_) {
        retired_.push_back({r.block, r.capacity, tag});
      }
      pending_.clear();
    }
    Reclaim();
  }

  void FreeTree(NodeT* node) {
    if (node == nullptr) return;
    for (unsigned i = 0; i < node->child_count; ++i) {
      FreeTree(node->children()[i]);
    }
    Deallocate(node, NodeCapacity(node->bytes()));
  }
  void FreeVersion(Version* version) {
    if (version == nullptr) return;
    FreeTree(version->upper);
    for (unsigned c = 0; c < kChunks; ++c) {
      const Chunk* chunk = version->chunks[c];
      if (chunk == &kBareChunk) continue;
      for (unsigned i = 0; i < kChunkEntries; ++i) {
        FreeTree(EntryNode(*version, c * kChunkEntries + i));
      }
      Deallocate(const_cast<Chunk*>(chunk), ChunkCapacity());
    }
    Deallocate(version, VersionCapacity());
  }

  alloc::Arena& arena_;
  PrefixNodePool pool_;
  std::atomic<const Version*> published_{&kEmptyVersion};
  std::atomic<size_t> published_size_{0};
  std::atomic<size_t> node_bytes_{0};
  Version* working_ = nullptr;  // null when the trie holds nothing
  uint64_t version_generation_ = 0;
  // The generation of the batch that made each chunk of working_.
  uint64_t chunk_generation_[kChunks] = {};
  size_t working_size_ = 0;
  uint64_t generation_ = 1;
  int batch_depth_ = 0;
  std::vector<Retired> pending_;  // replaced since the last publish
  std::vector<Retired> retired_;  // published-over, in tag order
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_H_
