#include "core/series/internal/chunk_allocator.h"

#include <cstring>
#include <new>

#include "alloc/size_classes.h"

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void __libc_free(void* p);
}

namespace keel::core::core_internal {
namespace {

[[noreturn]] [[gnu::cold]] void OutOfMemory() { throw std::bad_alloc(); }

}  // namespace

std::size_t ChunkAllocator::Held(std::size_t bytes) const {
  if (kind_ == ChunkMemory::kLibcMalloc) return bytes;
  return alloc::SizeClasses::Get().RoundUp(bytes);
}

uint8_t* ChunkAllocator::Allocate(std::size_t bytes) {
  uint8_t* p = AllocateUninitialized(bytes);
  std::memset(p, 0, bytes);
  return p;
}

uint8_t* ChunkAllocator::AllocateUninitialized(std::size_t bytes) {
  void* p = kind_ == ChunkMemory::kArena ? arena_.Allocate(bytes)
                                         : __libc_malloc(bytes);
  if (p == nullptr) OutOfMemory();
  held_.fetch_add(Held(bytes), std::memory_order_relaxed);
  return static_cast<uint8_t*>(p);
}

void ChunkAllocator::Free(uint8_t* p, std::size_t bytes) {
  if (kind_ == ChunkMemory::kArena) {
    arena_.Deallocate(p, bytes);
  } else {
    __libc_free(p);
  }
  held_.fetch_sub(Held(bytes), std::memory_order_relaxed);
}

uint8_t* ChunkAllocator::Grow(uint8_t* p, std::size_t old_bytes,
                              std::size_t new_bytes) {
  void* q = kind_ == ChunkMemory::kArena ? arena_.Reallocate(p, new_bytes)
                                         : __libc_realloc(p, new_bytes);
  if (q == nullptr) OutOfMemory();
  std::memset(static_cast<uint8_t*>(q) + old_bytes, 0, new_bytes - old_bytes);
  held_.fetch_add(Held(new_bytes) - Held(old_bytes), std::memory_order_relaxed);
  return static_cast<uint8_t*>(q);
}

std::size_t ChunkAllocator::ShrinkInPlace(uint8_t* p, std::size_t old_bytes,
                                          std::size_t new_bytes) {
  if (kind_ != ChunkMemory::kArena) return old_bytes;
  std::size_t now = arena_.ShrinkInPlace(p, old_bytes, new_bytes);
  held_.fetch_sub(Held(old_bytes) - Held(now), std::memory_order_relaxed);
  return now;
}

}  // namespace keel::core::core_internal
