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

}  // namespace keel::alloc::alloc_internal

#endif  // KEEL_ALLOC_INTERNAL_MALLCTL_H_
