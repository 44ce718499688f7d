// RangeStorage: the memory a RangeTable answers from, either a block in the
// "ranges" arena (a table built from feeds) or a read-only file mapping (an
// opened image). Releasing it frees the block or unmaps the file.
#ifndef KEEL_CORE_INTERNAL_RANGE_STORAGE_H_
#define KEEL_CORE_INTERNAL_RANGE_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace keel::core::core_internal {

class RangeStorage {
 public:
  virtual ~RangeStorage() = default;
  virtual bool mapped() const = 0;
  // Bytes held, alignment padding included.
  virtual size_t bytes() const = 0;
};

// A zeroed, 64-byte aligned block of `bytes` from the "ranges" arena; its
// 2 MiB-aligned interior is advised to use huge pages, so that random
// lookups miss the TLB less. Sets *block to its start.
std::unique_ptr<RangeStorage> AllocateRangeBlock(size_t bytes, uint8_t** block);

// Takes ownership of a mapping made with mmap.
std::unique_ptr<RangeStorage> AdoptMapping(void* address, size_t bytes);

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_INTERNAL_RANGE_STORAGE_H_
