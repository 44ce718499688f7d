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

void RefreshEpoch() {
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  int error = mallctl("epoch", &epoch, &size, &epoch, size);
  if (error != 0) MallctlFailed("epoch", error);
}

}  // namespace keel::alloc::alloc_internal
