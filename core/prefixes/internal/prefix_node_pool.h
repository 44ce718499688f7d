// PrefixNodePool: a small cache of freed trie nodes in front of the arena.
//
// Path copying frees one node for nearly every node it allocates, and the
// arena's allocations bypass jemalloc's thread cache (so that its figures
// stay exact), which makes each mallocx/sdallocx pair cost more than the
// rest of an insert. The pool keeps freed nodes
// on a LIFO list per size class, up to a budget, and hands them out again.
// Cached nodes remain allocations of the arena and count in the table's
// memory; Flush returns them.
//
//   void* p = pool.Allocate(NodeCapacity(bytes));
//   pool.Deallocate(p, NodeCapacity(bytes), /*budget=*/64 << 10);
//
// Thread safety: none; the trie's writer owns it.
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_NODE_POOL_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_NODE_POOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "alloc/arena.h"
#include "core/prefixes/internal/prefix_node.h"

namespace keel::core::core_internal {

class PrefixNodePool {
 public:
  // REQUIRES: `arena` outlives the pool.
  explicit PrefixNodePool(alloc::Arena& arena) : arena_(arena) {}
  ~PrefixNodePool() { Flush(); }
  PrefixNodePool(const PrefixNodePool&) = delete;
  PrefixNodePool& operator=(const PrefixNodePool&) = delete;

  // REQUIRES: capacity is a NodeCapacity() value.
  void* Allocate(uint32_t capacity) {
    Block*& head = heads_[capacity >> 4];
    if (head == nullptr) return arena_.Allocate(capacity);
    Block* block = head;
    head = block->next;
    Add(-static_cast<ptrdiff_t>(capacity));
    return block;
  }

  // Caches `p`. When that would take the cache past `budget` bytes, first
  // returns everything cached to the arena: what fills the cache is mostly
  // sizes the writer no longer asks for (a shrinking table frees bigger
  // nodes than it allocates), and turning the newest blocks away instead
  // would send every later allocation and free to the arena.
  // REQUIRES: p came from Allocate(capacity).
  void Deallocate(void* p, uint32_t capacity, size_t budget) {
    if (cached_bytes() + capacity > budget) Flush();
    Block*& head = heads_[capacity >> 4];
    head = new (p) Block{head};
    Add(capacity);
  }

  // Returns every cached node to the arena.
  void Flush() {
    for (size_t i = 0; i < kLists; ++i) {
      while (heads_[i] != nullptr) {
        Block* block = heads_[i];
        heads_[i] = block->next;
        arena_.Deallocate(block, static_cast<uint32_t>(i << 4));
      }
    }
    cached_bytes_.store(0, std::memory_order_relaxed);
  }

  // Readable from any thread (memory accounting).
  size_t cached_bytes() const {
    return cached_bytes_.load(std::memory_order_relaxed);
  }

 private:
  struct Block {
    Block* next;
  };
  // One list per 16 bytes of capacity: jemalloc's classes up to 8 KiB are
  // multiples of 16, and the largest node (kMaxNodeBytes) lands in one.
  static constexpr size_t kLists = 8192 / 16 + 1;
  static_assert(kMaxNodeBytes <= 8192);

  alloc::Arena& arena_;
  Block* heads_[kLists] = {};
  std::atomic<size_t> cached_bytes_{0};

  // The one writer updates; a load and a store cost less than an atomic add.
  void Add(ptrdiff_t bytes) {
    cached_bytes_.store(cached_bytes() + bytes, std::memory_order_relaxed);
  }
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_NODE_POOL_H_
