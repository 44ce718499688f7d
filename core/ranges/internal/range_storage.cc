#include "core/ranges/internal/range_storage.h"

#include <sys/mman.h>

#include <new>

namespace keel::core::core_internal {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kPage = 4096;

class Mapping final : public RangeStorage {
 public:
  Mapping(void* address, size_t bytes, bool file)
      : address_(address), bytes_(bytes), file_(file) {}
  ~Mapping() override { munmap(address_, bytes_); }
  bool mapped() const override { return file_; }
  size_t bytes() const override { return bytes_; }

 private:
  void* address_;
  size_t bytes_;
  bool file_;
};

}  // namespace

std::unique_ptr<RangeStorage> AllocateRangeBlock(size_t bytes,
                                                 uint8_t** block) {
  // Anonymous memory straight from the kernel rather than an arena: only a
  // 2 MiB-aligned block can sit on huge pages from its first byte, and
  // aligning an arena allocation would hold up to 2 MiB of padding. Here the
  // excess address space is returned at once, so the block holds exactly
  // its pages.
  size_t length = (bytes + kPage - 1) & ~(kPage - 1);
  size_t reserve = length + kHugePage;
  void* raw = mmap(nullptr, reserve, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto begin = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (begin + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > begin) munmap(raw, aligned - begin);
  uintptr_t end = aligned + length;
  if (begin + reserve > end)
    munmap(reinterpret_cast<void*>(end), begin + reserve - end);
  *block = reinterpret_cast<uint8_t*>(aligned);
  // Advice only: without transparent huge pages the table still works.
  madvise(*block, length, MADV_HUGEPAGE);
  return std::make_unique<Mapping>(*block, length, /*file=*/false);
}

std::unique_ptr<RangeStorage> AdoptMapping(void* address, size_t bytes) {
  return std::make_unique<Mapping>(address, bytes, /*file=*/true);
}

}  // namespace keel::core::core_internal
