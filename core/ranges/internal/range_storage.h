// RangeStorage: the memory a RangeTable answers from, either an anonymous
// block (a table built from feeds, or an image read with
// ImageHolding::kCopied) or a read-only file mapping (ImageHolding::kMapped).
// Releasing it unmaps it.
#ifndef KEEL_CORE_RANGES_INTERNAL_RANGE_STORAGE_H_
#define KEEL_CORE_RANGES_INTERNAL_RANGE_STORAGE_H_

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

// A zeroed block of `bytes` (rounded up to whole pages), 2 MiB aligned and
// advised to use huge pages, so that random lookups miss the TLB less. Sets
// *block to its start. Throws std::bad_alloc when memory is exhausted.
std::unique_ptr<RangeStorage> AllocateRangeBlock(size_t bytes, uint8_t** block);

// Takes ownership of a mapping made with mmap.
std::unique_ptr<RangeStorage> AdoptMapping(void* address, size_t bytes);

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_RANGES_INTERNAL_RANGE_STORAGE_H_
