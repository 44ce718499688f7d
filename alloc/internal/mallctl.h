// Typed access to jemalloc's mallctl namespace. A failing read of a name
// that jemalloc 5 always has means a broken build, so it aborts loudly.
#ifndef KEEL_ALLOC_INTERNAL_MALLCTL_H_
#define KEEL_ALLOC_INTERNAL_MALLCTL_H_

#include <cstddef>
#include <string>

namespace keel::alloc::alloc_internal {

[[noreturn]] void MallctlFailed(const std::string& name, int error);

template <typename T>
T ReadMallctl(const std::string& name);

void WriteMallctl(const std::string& name);  // a "void" control: purge, destroy
// Advances the statistics epoch so that later reads see current figures.
void RefreshEpoch();

// How full the slab holding an allocation is, from jemalloc's
// "experimental.utilization.query" (jemalloc >= 5.2). The layout is the one
// that control writes: the address the bin's next allocation comes from, then
// five counts.
struct SlabUtilization {
  void* slabcur = nullptr;  // base of the bin's current slab; null: none
  size_t nfree = 0;         // free regions in p's slab
  size_t nregs = 0;         // regions in p's slab (1 for a large allocation)
  size_t size = 0;          // bytes in p's slab (or the large allocation)
  size_t bin_nfree = 0;     // free regions in every slab of p's bin
  size_t bin_nregs = 0;     // regions in every slab of p's bin
};
// REQUIRES: p is a live allocation of this process's jemalloc.
SlabUtilization QuerySlabUtilization(const void* p);

}  // namespace keel::alloc::alloc_internal

#endif  // KEEL_ALLOC_INTERNAL_MALLCTL_H_
