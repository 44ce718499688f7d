// ChunkAllocator: where a store's chunk bytes come from (its alloc::Arena, or
// glibc's malloc for comparisons), with an exact count of the bytes it holds.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_CORE_SERIES_INTERNAL_CHUNK_ALLOCATOR_H_
#define KEEL_CORE_SERIES_INTERNAL_CHUNK_ALLOCATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "alloc/arena.h"
#include "core/series/series_store.h"

namespace keel::core::core_internal {

class ChunkAllocator {
 public:
  ChunkAllocator(ChunkMemory kind, alloc::Arena& arena)
      : kind_(kind), arena_(arena) {}

  // The bytes an allocation of `bytes` really takes (its size class in the
  // arena; the request itself under glibc, whose overhead is not visible).
  std::size_t Held(std::size_t bytes) const;

  // Zeroed memory. REQUIRES: bytes > 0.
  uint8_t* Allocate(std::size_t bytes);
  // Memory as the allocator hands it out, for buffers written before they
  // are read (sealed chunk copies). REQUIRES: bytes > 0.
  uint8_t* AllocateUninitialized(std::size_t bytes);
  void Free(uint8_t* p, std::size_t bytes);
  // Grows `p` from `old_bytes` to `new_bytes`, zeroing the new tail.
  uint8_t* Grow(uint8_t* p, std::size_t old_bytes, std::size_t new_bytes);

  // Shrinks `p` in place towards `new_bytes` (Arena::ShrinkInPlace; glibc's
  // blocks are left as they are) and returns the size `p` now has, for a
  // later Free. REQUIRES: 0 < new_bytes <= old_bytes.
  std::size_t ShrinkInPlace(uint8_t* p, std::size_t old_bytes,
                            std::size_t new_bytes);

  // Bytes currently held for chunks, at Held() size.
  uint64_t held() const { return held_.load(std::memory_order_relaxed); }
  alloc::Arena& arena() const { return arena_; }

 private:
  ChunkMemory kind_;
  alloc::Arena& arena_;
  std::atomic<uint64_t> held_{0};
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_CHUNK_ALLOCATOR_H_
