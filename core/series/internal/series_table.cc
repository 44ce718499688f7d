#include "core/series/internal/series_table.h"

#include <new>

namespace keel::core::core_internal {
namespace {

constexpr std::size_t kSegmentBytes = sizeof(Series)
                                      << SeriesTable::kSegmentBits;
constexpr std::size_t kDirectoryBytes = sizeof(Series*)
                                        << SeriesTable::kDirectoryBits;

}  // namespace

SeriesTable::~SeriesTable() {
  for (auto& slot : top_) {
    Series** directory = slot.load(std::memory_order_relaxed);
    if (directory == nullptr) continue;
    for (std::size_t i = 0; i < (1u << kDirectoryBits); ++i) {
      if (directory[i] != nullptr)
        arena_.Deallocate(directory[i], kSegmentBytes);
    }
    arena_.Deallocate(directory, kDirectoryBytes);
  }
}

bool SeriesTable::Add(const Series& record, SeriesRef& ref) {
  uint32_t next = size_.load(std::memory_order_relaxed);
  if (next == UINT32_MAX) return false;
  auto& slot = top_[next >> (kSegmentBits + kDirectoryBits)];
  Series** directory = slot.load(std::memory_order_relaxed);
  if (directory == nullptr) {
    directory = static_cast<Series**>(arena_.Allocate(kDirectoryBytes));
    std::fill_n(directory, std::size_t{1} << kDirectoryBits, nullptr);
    slot.store(directory, std::memory_order_relaxed);
  }
  Series*& segment =
      directory[(next >> kSegmentBits) & ((1u << kDirectoryBits) - 1)];
  if (segment == nullptr) {
    segment = static_cast<Series*>(arena_.Allocate(kSegmentBytes));
  }
  new (&segment[next & ((1u << kSegmentBits) - 1)]) Series(record);
  ref = next;
  size_.store(next + 1, std::memory_order_release);  // publishes the record
  return true;
}

}  // namespace keel::core::core_internal
