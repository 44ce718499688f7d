#include "core/series/internal/series_table.h"

#include <algorithm>
#include <new>

namespace keel::core::core_internal {

template <typename T>
T* SeriesTable::Reserve(Directory<T>& top, uint32_t i) {
  constexpr std::size_t kDirectoryBytes = sizeof(T*) << kDirectoryBits;
  constexpr std::size_t kSegmentBytes = sizeof(T) << kSegmentBits;
  auto& slot = top[i >> (kSegmentBits + kDirectoryBits)];
  T** directory = slot.load(std::memory_order_relaxed);
  if (directory == nullptr) {
    directory = static_cast<T**>(arena_.Allocate(kDirectoryBytes));
    std::fill_n(directory, std::size_t{1} << kDirectoryBits, nullptr);
    slot.store(directory, std::memory_order_relaxed);
  }
  T*& segment = directory[(i >> kSegmentBits) & kDirectoryMask];
  if (segment == nullptr) {
    segment = static_cast<T*>(arena_.Allocate(kSegmentBytes));
  }
  return &segment[i & kSegmentMask];
}

template <typename T>
void SeriesTable::Release(Directory<T>& top) {
  constexpr std::size_t kDirectoryBytes = sizeof(T*) << kDirectoryBits;
  constexpr std::size_t kSegmentBytes = sizeof(T) << kSegmentBits;
  for (auto& slot : top) {
    T** directory = slot.load(std::memory_order_relaxed);
    if (directory == nullptr) continue;
    for (std::size_t i = 0; i < (std::size_t{1} << kDirectoryBits); ++i) {
      if (directory[i] != nullptr)
        arena_.Deallocate(directory[i], kSegmentBytes);
    }
    arena_.Deallocate(directory, kDirectoryBytes);
  }
}

SeriesTable::~SeriesTable() {
  Release(slots_);
  Release(records_);
}

bool SeriesTable::Add(const Series& record, SeriesRef& ref) {
  uint32_t next = size_.load(std::memory_order_relaxed);
  if (next == UINT32_MAX) return false;
  uint32_t slot = free_;
  Series* at;
  if (slot != kNoSlot) {
    at = Locate(records_, slot);
    free_ = at->sealed_count;
  } else {
    slot = slot_count_++;
    at = Reserve(records_, slot);
  }
  new (at) Series(record);
  new (Reserve(slots_, next)) std::atomic<uint32_t>(slot);
  ref = next;
  size_.store(next + 1, std::memory_order_release);  // publishes the record
  return true;
}

void SeriesTable::Remove(SeriesRef ref) {
  std::atomic<uint32_t>& entry = *Locate(slots_, ref);
  uint32_t slot = entry.load(std::memory_order_relaxed);
  entry.store(kNoSlot, std::memory_order_relaxed);
  *Locate(records_, slot) = Dead(free_);
  free_ = slot;
}

}  // namespace keel::core::core_internal
