#include "alloc/growth_policy.h"

#include <algorithm>
#include <cassert>

#include "alloc/size_classes.h"

namespace keel::alloc {

GrowthPolicy::GrowthPolicy(std::size_t first_capacity, double min_growth)
    : first_(SizeClasses::Get().round_up(first_capacity)),
      min_growth_(min_growth) {
  assert(min_growth >= 0);
}

std::size_t GrowthPolicy::next(std::size_t capacity) const {
  const SizeClasses& classes = SizeClasses::Get();
  auto wanted = static_cast<std::size_t>(static_cast<double>(capacity) *
                                         (1.0 + min_growth_));
  return std::max(classes.next(capacity), classes.round_up(wanted));
}

std::size_t GrowthPolicy::capacity_for(std::size_t size) const {
  if (size <= first_) return first_;  // 0 included
  if (min_growth_ == 0.0) {
    // Stepping through every class reaches round_up(size) itself.
    return SizeClasses::Get().round_up(size);
  }
  std::size_t capacity = first_;
  while (capacity < size) capacity = next(capacity);
  return capacity;
}

}  // namespace keel::alloc
