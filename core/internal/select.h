// Select: `cond ? a : b` without a branch, for the lookups of RangeTable and
// PrefixTrie.
//
// A plain ?: on random data (the addresses a lookup is asked) may compile to
// a branch that mispredicts half the time, and each miss discards the
// lookups the CPU had started behind this one. Select always evaluates both
// arms and chooses with one conditional move.
//
//   uint32_t top = Select(before_bucket, tops[0].prev_top, bucket);
//
// Thread safety: a pure function.
#ifndef KEEL_CORE_INTERNAL_SELECT_H_
#define KEEL_CORE_INTERNAL_SELECT_H_

#include <cstdint>
#include <type_traits>

namespace keel::core::core_internal {

// cond != 0 ? a : b. T (an integer or a pointer, taken from `a`; `b` is
// converted to it) is at least 16 bits wide: cmov has no 8-bit form. C is
// any integer type or bool.
template <class T, class C>
inline T Select(C cond, T a, std::type_identity_t<T> b) {
  static_assert(sizeof(T) >= 2);
#if defined(__x86_64__) && defined(__GNUC__)
  // One cmov (two instructions with the test): masks would cost five, and
  // lookups are bound by instructions as much as by memory.
  asm("test %2, %2\n\tcmovnz %1, %0" : "+r"(b) : "r"(a), "r"(cond) : "cc");
  return b;
#else
  if constexpr (std::is_pointer_v<T>) {
    auto ia = reinterpret_cast<uintptr_t>(a),
         ib = reinterpret_cast<uintptr_t>(b);
    uintptr_t mask = uintptr_t{0} - static_cast<uintptr_t>(cond);
    return reinterpret_cast<T>((ia & mask) | (ib & ~mask));
  } else {
    T mask = T{0} - static_cast<T>(cond);
    return (a & mask) | (b & ~mask);
  }
#endif
}

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_INTERNAL_SELECT_H_
