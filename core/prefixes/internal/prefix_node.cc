#include "core/prefixes/internal/prefix_node.h"

#include <vector>

#include "alloc/growth_policy.h"

namespace keel::core::core_internal {
namespace {

// jemalloc's classes up to kMaxNodeBytes are multiples of 16, so one entry
// per 16 bytes is exact.
std::vector<uint32_t> BuildCapacities() {
  alloc::GrowthPolicy policy(sizeof(NodeHeader));
  std::vector<uint32_t> table(kMaxNodeBytes / 16 + 2);
  for (size_t i = 0; i < table.size(); ++i) {
    table[i] =
        static_cast<uint32_t>(policy.CapacityFor(i * 16 == 0 ? 1 : i * 16));
  }
  return table;
}

}  // namespace

const uint32_t* NodeCapacityTable() {
  static const std::vector<uint32_t>* table =
      new std::vector<uint32_t>(BuildCapacities());
  return table->data();
}

}  // namespace keel::core::core_internal
