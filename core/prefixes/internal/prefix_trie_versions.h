// PrefixTrieVersions<Key, V>: the versions of a PrefixTrie and the blocks
// they are made of (prefix_trie.h describes the structure): the published
// version readers load, and the working version the writer edits by path
// copying. A node, directory chunk or version the writer has to change is
// copied once per batch, marked with the batch's generation, and edited in
// place from then on; node splicing goes into the node itself when it is
// private and large enough. Publishing stores the working version with one
// seq_cst store; the blocks it replaced go to a RetireList, private blocks
// dropped before then back to the node pool at once.
//
// Thread safety: published(), published_size() and the byte counts from any
// thread; everything else from the one writer thread.
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_VERSIONS_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_VERSIONS_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "alloc/arena.h"
#include "alloc/growth_policy.h"
#include "core/prefixes/internal/epoch_retire_list.h"
#include "core/prefixes/internal/prefix_directory.h"
#include "core/prefixes/internal/prefix_node.h"
#include "core/prefixes/internal/prefix_node_pool.h"
#include "core/prefixes/internal/prefix_trie_shape.h"

namespace keel::core::core_internal {

template <class Key, class V>
class PrefixTrieVersions : protected PrefixTrieShape<Key, V> {
 protected:
  using Shape = PrefixTrieShape<Key, V>;
  using Shape::EntryNode;
  using Shape::kBareChunk;
  using Shape::kEmptyVersion;
  using typename Shape::Chunk;
  using typename Shape::NodeT;

 public:
  using typename Shape::Version;

  // REQUIRES: `arena` outlives the versions.
  explicit PrefixTrieVersions(alloc::Arena& arena)
      : arena_(arena), pool_(arena) {}
  // REQUIRES: no reader is inside the trie.
  ~PrefixTrieVersions() {
    FreeVersion(working_);
    retired_.FreeAll([this](void* block, uint32_t capacity) {
      Deallocate(block, capacity);
    });
    pool_.Flush();
  }
  PrefixTrieVersions(const PrefixTrieVersions&) = delete;
  PrefixTrieVersions& operator=(const PrefixTrieVersions&) = delete;

  // Frees the retired blocks no reader can still reach. Publishing calls
  // it; call it after readers finish to free what they held back.
  void Reclaim() {
    retired_.Reclaim([this](void* block, uint32_t capacity) {
      Deallocate(block, capacity);
    });
  }

  // Returns the freed nodes the writer keeps for reuse to the arena.
  void FlushPool() { pool_.Flush(); }
  size_t pooled_bytes() const { return pool_.cached_bytes(); }

  // Bytes the nodes, chunks and versions hold in the arena, retired ones
  // included.
  size_t node_bytes() const {
    return node_bytes_.load(std::memory_order_relaxed);
  }

  // The version readers see, and its prefixes. REQUIRES (published): an
  // EpochGuard held from before the call until the version is let go.
  const Version& published() const {
    return *published_.load(std::memory_order_seq_cst);
  }
  size_t published_size() const {
    return published_size_.load(std::memory_order_relaxed);
  }

 protected:
  // The working version, null when the trie holds nothing. Only the
  // writer's thread may read it.
  const Version* working() const { return working_; }

  // Frees the working version when it holds nothing (an empty trie has
  // none). REQUIRES: `version` is the working version, private.
  void DropIfEmpty(Version* version) {
    if (version->upper == nullptr && version->chunk_count == 0) {
      Deallocate(version, VersionCapacity());  // private: PrivateVersion
      working_ = nullptr;
    }
  }

  // The node cache may hold this much, or a 16th of the nodes' bytes.
  static constexpr size_t kMinPoolBytes = 64 << 10;
  static uint32_t ChunkCapacity() { return NodeCapacity(sizeof(Chunk)); }
  static uint32_t VersionCapacity() {
    static const uint32_t capacity =
        static_cast<uint32_t>(alloc::GrowthPolicy(sizeof(Version)).first());
    return capacity;
  }

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
      retired_.Defer(block, capacity);
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

  // A chunk copy, 16 bytes a move: memcpy of a fixed-size chunk compiles to
  // rep movsq, whose start-up costs more than the copy.
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
    } else if (writable->IsBare()) {
      Deallocate(writable, ChunkCapacity());
      version->chunks[c] = &kBareChunk;
      --version->chunk_count;
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

  // Node splicing (Node::Splice*) into the node itself when it is private
  // and its capacity holds the result, else into a fresh one.
  NodeT* WithChild(NodeT* node, unsigned byte, NodeT* child) {
    NodeT* out = Reserve(node, node->bytes() + sizeof(NodeT*));
    NodeT::SpliceChildIn(node, out, byte, child);
    if (out != node) Free(node);
    return out;
  }
  NodeT* WithoutChild(NodeT* node, unsigned byte) {
    NodeT* out = Reserve(node, node->bytes() - sizeof(NodeT*));
    NodeT::SpliceChildOut(node, out, byte);
    if (out != node) Free(node);
    return out;
  }
  NodeT* WithPrefix(NodeT* node, unsigned slot, const V& value) {
    NodeT* out = Reserve(node, node->bytes() + sizeof(V));
    NodeT::SplicePrefixIn(node, out, slot, value);
    if (out != node) Free(node);
    return out;
  }
  NodeT* WithoutPrefix(NodeT* node, unsigned slot) {
    NodeT* out = Reserve(node, node->bytes() - sizeof(V));
    NodeT::SplicePrefixOut(node, out, slot);
    if (out != node) Free(node);
    return out;
  }

  // Publishes the working version, holding `size` prefixes.
  void Publish(size_t size) {
    published_.store(working_ != nullptr ? working_ : &kEmptyVersion,
                     std::memory_order_seq_cst);
    published_size_.store(size, std::memory_order_relaxed);
    ++generation_;
    retired_.MarkPublished();
    Reclaim();
  }

 private:
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
  uint64_t generation_ = 1;
  RetireList retired_;  // replaced blocks, until no reader holds them
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_VERSIONS_H_
