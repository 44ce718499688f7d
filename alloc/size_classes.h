// SizeClasses: jemalloc's size-class table, as this process's jemalloc has it.
//
// Use it to reason about what an allocation really costs: a request of n
// bytes occupies RoundUp(n) bytes. Small classes live in slabs of `nregs`
// regions; large classes are whole page runs.
//
//   const auto& classes = keel::alloc::SizeClasses::Get();
//   classes.RoundUp(100);  // 112
//   classes.Next(112);      // 128
//
// Thread safety: immutable after Get() builds it; share freely.
#ifndef KEEL_ALLOC_SIZE_CLASSES_H_
#define KEEL_ALLOC_SIZE_CLASSES_H_

#include <cstddef>
#include <span>
#include <vector>

namespace keel::alloc {

struct SmallClass {
  std::size_t size;       // region size in bytes
  std::size_t nregs;      // regions per slab
  std::size_t slab_size;  // bytes per slab
};

class SizeClasses {
 public:
  // The table read from jemalloc on first use (arenas.nbins, arenas.bin.<j>.*,
  // arenas.nlextents, arenas.lextent.<j>.size).
  static const SizeClasses& Get();

  // The size of the class that a request of n bytes lands in.
  // REQUIRES: 0 < n <= largest().
  std::size_t RoundUp(std::size_t n) const { return sizes_[IndexOf(n)]; }
  // Index into sizes() of the class holding n. REQUIRES: 0 < n <= largest().
  std::size_t IndexOf(std::size_t n) const;
  // The bytes of address space a request of n bytes makes active: its class
  // and, for a large class, the page jemalloc adds to every large extent
  // (the cache-oblivious offset, compiled into Debian's 5.3 and no run-time
  // option there). REQUIRES: 0 < n <= largest().
  std::size_t Footprint(std::size_t n) const {
    return RoundUp(n) + (IsSmall(n) ? 0 : kLargePad);
  }
  static constexpr std::size_t kLargePad = 4096;
  // The smallest class strictly larger than the class holding n.
  // REQUIRES: RoundUp(n) < largest().
  std::size_t Next(std::size_t n) const { return sizes_[IndexOf(n) + 1]; }

  // Every class, small then large, ascending.
  std::span<const std::size_t> sizes() const { return sizes_; }
  std::span<const SmallClass> small() const { return small_; }
  std::size_t largest() const { return sizes_.back(); }
  bool IsSmall(std::size_t n) const { return n <= small_.back().size; }

 private:
  SizeClasses();
  std::vector<std::size_t> sizes_;
  std::vector<SmallClass> small_;
};

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_SIZE_CLASSES_H_
