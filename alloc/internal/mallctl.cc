#include "alloc/internal/mallctl.h"

#include <jemalloc/jemalloc.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace keel::alloc::alloc_internal {

void MallctlFailed(const std::string& name, int error) {
  std::fprintf(stderr, "keel: mallctl(\"%s\") failed: %s\n", name.c_str(),
               std::strerror(error));
  std::abort();
}

template <typename T>
T ReadMallctl(const std::string& name) {
  T value{};
  size_t size = sizeof(value);
  int error = mallctl(name.c_str(), &value, &size, nullptr, 0);
  if (error != 0) MallctlFailed(name, error);
  return value;
}

template unsigned ReadMallctl<unsigned>(const std::string&);
template size_t ReadMallctl<size_t>(const std::string&);
template bool ReadMallctl<bool>(const std::string&);

void WriteMallctl(const std::string& name) {
  int error = mallctl(name.c_str(), nullptr, nullptr, nullptr, 0);
  if (error != 0) MallctlFailed(name, error);
}

SlabUtilization QuerySlabUtilization(const void* p) {
  static constexpr char kName[] = "experimental.utilization.query";
  // Resolved once: a lookup by name parses the string on every call, and a
  // defragmentation pass queries every object it visits.
  struct Mib {
    size_t mib[4];
    size_t length = 4;
    Mib() {
      int error = mallctlnametomib(kName, mib, &length);
      if (error != 0) MallctlFailed(kName, error);
    }
  };
  static const Mib resolved;
  SlabUtilization out;
  size_t out_size = sizeof(out);
  int error = mallctlbymib(resolved.mib, resolved.length, &out, &out_size, &p,
                           sizeof(p));
  if (error != 0) MallctlFailed(kName, error);
  return out;
}

void RefreshEpoch() {
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  int error = mallctl("epoch", &epoch, &size, &epoch, size);
  if (error != 0) MallctlFailed("epoch", error);
}

}  // namespace keel::alloc::alloc_internal
