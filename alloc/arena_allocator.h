// ArenaAllocator<T>: a standard allocator that draws from an Arena.
//
// Use it to put a container's memory in a subsystem's arena, so that the
// arena's statistics count it:
//
//   keel::alloc::Arena arena("index");
//   std::vector<int, keel::alloc::ArenaAllocator<int>> v{
//       keel::alloc::ArenaAllocator<int>(arena)};
//   absl::flat_hash_map<K, V, absl::Hash<K>, std::equal_to<K>,
//       keel::alloc::ArenaAllocator<std::pair<const K, V>>> m{
//       0, {}, {}, keel::alloc::ArenaAllocator<std::pair<const K, V>>(arena)};
//
// Thread safety: as the Arena's. Ownership: the arena must outlive every
// container using the allocator; allocators compare equal when they share it.
#ifndef KEEL_ALLOC_ARENA_ALLOCATOR_H_
#define KEEL_ALLOC_ARENA_ALLOCATOR_H_

#include <cstddef>
#include <new>

#include "alloc/arena.h"

namespace keel::alloc {

template <typename T>
class ArenaAllocator {
 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;

  explicit ArenaAllocator(Arena& arena) noexcept : arena_(&arena) {}
  template <typename U>
  ArenaAllocator(const ArenaAllocator<U>& other) noexcept  // NOLINT: rebind
      : arena_(other.arena()) {}

  T* allocate(std::size_t n) {
    if (n > std::size_t(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(arena_->Allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    arena_->Deallocate(p, n * sizeof(T));
  }

  Arena* arena() const noexcept { return arena_; }

  template <typename U>
  bool operator==(const ArenaAllocator<U>& other) const noexcept {
    return arena_ == other.arena();
  }

 private:
  Arena* arena_;
};

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_ARENA_ALLOCATOR_H_
