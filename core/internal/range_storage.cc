#include "keel/core/internal/range_storage.h"

#include <sys/mman.h>

#include <cstring>

#include "keel/alloc/arena.h"

namespace keel::core::core_internal {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kSmallAlignment = 64;

alloc::Arena& RangesArena() {
  // Never destroyed: tables may outlive static destruction order.
  static alloc::Arena* arena = new alloc::Arena("ranges");
  return *arena;
}

class ArenaBlock final : public RangeStorage {
 public:
  ArenaBlock(void* raw, size_t bytes) : raw_(raw), bytes_(bytes) {}
  ~ArenaBlock() override { RangesArena().deallocate(raw_, bytes_); }
  bool mapped() const override { return false; }
  size_t bytes() const override { return bytes_; }

 private:
  void* raw_;
  size_t bytes_;
};

class Mapping final : public RangeStorage {
 public:
  Mapping(void* address, size_t bytes) : address_(address), bytes_(bytes) {}
  ~Mapping() override { munmap(address_, bytes_); }
  bool mapped() const override { return true; }
  size_t bytes() const override { return bytes_; }

 private:
  void* address_;
  size_t bytes_;
};

}  // namespace

std::unique_ptr<RangeStorage> AllocateRangeBlock(size_t bytes,
                                                 uint8_t** block) {
  size_t raw_bytes = bytes + kSmallAlignment;
  void* raw = RangesArena().allocate(raw_bytes);
  auto address = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (address + kSmallAlignment - 1) & ~(kSmallAlignment - 1);
  *block = reinterpret_cast<uint8_t*>(aligned);
  // Huge pages for the 2 MiB-aligned interior: advice only, and no padding
  // spent on aligning the whole block.
  uintptr_t huge_begin = (aligned + kHugePage - 1) & ~(kHugePage - 1);
  uintptr_t huge_end = (aligned + bytes) & ~(kHugePage - 1);
  if (huge_end > huge_begin) {
    madvise(reinterpret_cast<void*>(huge_begin), huge_end - huge_begin,
            MADV_HUGEPAGE);
  }
  std::memset(*block, 0, bytes);
  return std::make_unique<ArenaBlock>(raw, raw_bytes);
}

std::unique_ptr<RangeStorage> AdoptMapping(void* address, size_t bytes) {
  return std::make_unique<Mapping>(address, bytes);
}

}  // namespace keel::core::core_internal
