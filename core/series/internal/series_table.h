// Series and SeriesTable: the per-series record and the ref -> record table.
//
// A Series is one 64-byte cache line, all an append touches besides the head
// buffer: the XOR encoder state of its head chunk, the head buffer, and an
// array of 12-byte SealedChunk refs (pointer, length and time span; the
// first timestamp and count are read from the chunk's own bytes). Its labels
// live in the SeriesIndex.
//
// SeriesTable hands out refs in order and never hands one out twice (a ref
// is the store's stable handle), but the record behind a dropped series is
// reused: a ref maps to a record slot, and Remove puts the slot of a dead
// ref on a free list that the next Add takes from. Under turnover a dying
// generation's records thus hold the next generation's series, and a dead
// ref costs 4 bytes instead of a record. Records and the ref map live at
// stable addresses in 1024-entry segments behind two-level directories, so
// Find never takes a lock.
//
// Thread safety: Add and Remove are serialized by the caller (the store's
// index lock). A ref's slot changes only under its stripe lock (Remove), so
// Find(ref) must be called under the stripe lock of `ref` for the record to
// stay that ref's while it is used: a record found before the lock may have
// been given to another series by the time the lock is taken. A Series'
// fields are guarded by its stripe lock.
#ifndef KEEL_CORE_SERIES_INTERNAL_SERIES_TABLE_H_
#define KEEL_CORE_SERIES_INTERNAL_SERIES_TABLE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>

#include "alloc/arena.h"
#include "alloc/size_classes.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/series_store.h"
#include "core/series/xor_chunk.h"

namespace keel::core::core_internal {

// A sealed chunk: where its bytes are, how many, and max - min time. A
// compact one is an entry of a sealed frame (sealed_codec.h): data() is the
// entry, bytes its share of the frame.
struct SealedChunk {
  uint32_t ptr_low;
  uint16_t ptr_high;  // user-space pointers fit 47 bits; bit 15: compact
  uint16_t bytes;
  uint32_t span;  // max_time - min_time; < chunk window <= 2^31

  static constexpr uint16_t kCompact = 0x8000;

  static SealedChunk Make(const uint8_t* p, std::size_t bytes, uint64_t span,
                          bool compact = false) {
    auto address = reinterpret_cast<uintptr_t>(p);
    return {static_cast<uint32_t>(address),
            static_cast<uint16_t>(address >> 32 | (compact ? kCompact : 0)),
            static_cast<uint16_t>(bytes), static_cast<uint32_t>(span)};
  }
  bool compact() const { return (ptr_high & kCompact) != 0; }
  uint8_t encoding() const {
    return compact() ? kSealedEncoding : kXorEncoding;
  }
  const uint8_t* data() const {
    return reinterpret_cast<const uint8_t*>(
        uintptr_t{static_cast<uint16_t>(ptr_high & ~kCompact)} << 32 | ptr_low);
  }
  std::span<const uint8_t> view() const { return {data(), bytes}; }
  int64_t min_time() const {
    return compact() ? SealedMinTime(data()) : XorFirstTimestamp(view());
  }
  int64_t max_time() const {
    return static_cast<int64_t>(static_cast<uint64_t>(min_time()) + span);
  }
  // An XOR chunk and a sealed entry both open with their count.
  uint16_t samples() const { return XorSampleCount(view()); }
};
static_assert(sizeof(SealedChunk) == 12);

// The bytes of a series' sealed-chunk array: exactly its size class, so
// capacity follows count and is never stored.
inline std::size_t SealedBytes(uint32_t count) {
  return count == 0
             ? 0
             : alloc::SizeClasses::Get().RoundUp(count * sizeof(SealedChunk));
}

struct alignas(64) Series {
  XorAppendState head_state;
  uint8_t* head = nullptr;        // open chunk, or null
  SealedChunk* sealed = nullptr;  // time order
  int64_t head_last = 0;          // last timestamp of the head's window
  uint32_t sealed_count = 0;
  uint16_t head_capacity = 0;  // max_chunk_bytes <= 32 KiB keeps it < 64 KiB
  bool dead = false;           // a removed ref's record, or a free one
};
static_assert(sizeof(Series) == 64);

class SeriesTable {
 public:
  static constexpr unsigned kSegmentBits = 10;
  static constexpr unsigned kDirectoryBits = 10;
  static constexpr std::size_t kTop = std::size_t{1}
                                      << (32 - kSegmentBits - kDirectoryBits);

  explicit SeriesTable(alloc::Arena& arena) : arena_(arena) {}
  ~SeriesTable();
  SeriesTable(const SeriesTable&) = delete;
  SeriesTable& operator=(const SeriesTable&) = delete;

  // The record of `ref`; a record with `dead` set once the ref is removed;
  // null if no such ref was ever handed out. REQUIRES: the stripe lock of
  // `ref` while the record is used, unless no Remove can run meanwhile.
  Series* Find(SeriesRef ref) const {
    if (ref >= size_.load(std::memory_order_acquire)) return nullptr;
    uint32_t slot = Locate(slots_, ref)->load(std::memory_order_relaxed);
    return slot == kNoSlot ? &removed_ : Locate(records_, slot);
  }

  // Stores `record` under the next ref, in a free slot if there is one, and
  // publishes it. Returns false when all 2^32 - 1 refs are used.
  // REQUIRES: calls serialized with each other and with Remove.
  bool Add(const Series& record, SeriesRef& ref);

  // Frees the record of `ref` for a later Add; Find(ref) then returns a
  // dead record. REQUIRES: `ref` was handed out and not removed, its record
  // holds no memory (head, sealed) any more; the stripe lock of `ref`;
  // serialized with Add.
  void Remove(SeriesRef ref);

  // Refs handed out so far.
  uint32_t size() const { return size_.load(std::memory_order_acquire); }
  // Records allocated (live refs and free slots), for tests and stats.
  uint32_t slot_count() const { return slot_count_; }

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  static constexpr uint32_t kSegmentMask = (1u << kSegmentBits) - 1;
  static constexpr uint32_t kDirectoryMask = (1u << kDirectoryBits) - 1;

  // A two-level directory of 1024-entry segments: stable addresses.
  template <typename T>
  using Directory = std::array<std::atomic<T**>, kTop>;

  template <typename T>
  static T* Locate(const Directory<T>& top, uint32_t i) {
    T** directory = top[i >> (kSegmentBits + kDirectoryBits)].load(
        std::memory_order_relaxed);
    T* segment = directory[(i >> kSegmentBits) & kDirectoryMask];
    return &segment[i & kSegmentMask];
  }
  // The entry `i`, its segment allocated if new. REQUIRES: serialized.
  template <typename T>
  T* Reserve(Directory<T>& top, uint32_t i);
  template <typename T>
  void Release(Directory<T>& top);
  // A record with `dead` set; a free one links the next free slot through
  // its sealed_count.
  static Series Dead(uint32_t next_free) {
    Series s;
    s.sealed_count = next_free;
    s.dead = true;
    return s;
  }

  alloc::Arena& arena_;
  Directory<std::atomic<uint32_t>> slots_{};  // ref -> record slot
  Directory<Series> records_{};               // slot -> record
  std::atomic<uint32_t> size_{0};
  uint32_t slot_count_ = 0;
  uint32_t free_ = kNoSlot;  // first free slot; each links the next
  // What Find returns for a removed ref: read, never written, by callers
  // that check `dead` first.
  mutable Series removed_ = Dead(kNoSlot);
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SERIES_TABLE_H_
