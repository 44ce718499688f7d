// GrowthPolicy: the capacities a growing buffer steps through.
//
// Every capacity it hands out is exactly a jemalloc size class, so no byte
// inside a class goes unused by accident, and a buffer rebuilt at size n
// (from a snapshot, say) gets CapacityFor(n): the capacity ingestion would
// have reached at size n. Restored and ingested buffers then share size
// classes and slabs instead of fragmenting each other.
//
//   keel::alloc::GrowthPolicy policy(/*first_capacity=*/128);
//   size_t cap = policy.first();      // 128
//   cap = policy.Next(cap);           // 160: the next class
//   policy.CapacityFor(150);         // 160, never 150
//
// Thread safety: immutable; share freely.
#ifndef KEEL_ALLOC_GROWTH_POLICY_H_
#define KEEL_ALLOC_GROWTH_POLICY_H_

#include <cstddef>

namespace keel::alloc {

class GrowthPolicy {
 public:
  // first_capacity is rounded up to its size class. Each step grows by at
  // least `min_growth` (0.25 = 25%) and lands on a class; with 0 it takes
  // every class in turn (jemalloc spaces classes 4 per doubling, so about
  // 12.5-25% per step). REQUIRES: first_capacity > 0, min_growth >= 0.
  explicit GrowthPolicy(std::size_t first_capacity = 128,
                        double min_growth = 0.0);

  std::size_t first() const { return first_; }
  // The capacity after `capacity`. REQUIRES: capacity is one this policy gave.
  std::size_t Next(std::size_t capacity) const;
  // The smallest capacity at least `size` that the steps from first() reach.
  std::size_t CapacityFor(std::size_t size) const;

 private:
  std::size_t first_;
  double min_growth_;
};

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_GROWTH_POLICY_H_
