#include "alloc/growth_policy.h"

#include <algorithm>
#include <cassert>

#include "alloc/size_classes.h"

namespace keel::alloc {

GrowthPolicy::GrowthPolicy(std::size_t first_capacity, double min_growth)
    : first_(SizeClasses::Get().RoundUp(first_capacity)),
      min_growth_(min_growth) {
  assert(min_growth >= 0);
}

std::size_t GrowthPolicy::Next(std::size_t capacity) const {
  const SizeClasses& classes = SizeClasses::Get();
  auto wanted = static_cast<std::size_t>(static_cast<double>(capacity) *
                                         (1.0 + min_growth_));
  return std::max(classes.Next(capacity), classes.RoundUp(wanted));
}

std::size_t GrowthPolicy::CapacityFor(std::size_t size) const {
  if (size <= first_) return first_;  // 0 included
  if (min_growth_ == 0.0) {
    // Stepping through every class reaches RoundUp(size) itself.
    return SizeClasses::Get().RoundUp(size);
  }
  std::size_t capacity = first_;
  while (capacity < size) capacity = Next(capacity);
  return capacity;
}

}  // namespace keel::alloc
