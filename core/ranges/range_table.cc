#include "core/ranges/range_table.h"

#include <algorithm>
#include <cstring>

#include "core/ranges/internal/range_storage.h"

namespace keel::core {
namespace {

using core_internal::CountV4;
using core_internal::kV6MidStride;
using core_internal::kV6TopStride;
using core_internal::RangeView;
using core_internal::V4Key;
using core_internal::V4Record;

// How many of a[0..n) are <= x, for sorted a. Branch-free: the loop runs
// log2(n) times whatever the data, and each step is a conditional move.
template <typename T>
inline uint64_t CountAtMost(const T* a, uint64_t n, T x) {
  if (n == 0) return 0;
  const T* base = a;
  while (n > 1) {
    uint64_t half = n / 2;
    base = base[half] <= x ? base + half : base;
    n -= half;
  }
  return static_cast<uint64_t>(base - a) + (*base <= x);
}

inline uint64_t ReadPacked(const uint8_t* packed, uint64_t index,
                           uint32_t bits) {
  uint64_t bit = index * bits;
  uint64_t word;
  std::memcpy(&word, packed + (bit >> 3), sizeof(word));
  return (word >> (bit & 7)) & ((uint64_t{1} << bits) - 1);
}

inline const uint8_t* PackedByte(const uint8_t* packed, uint64_t index,
                                 uint32_t bits) {
  return packed + ((index * bits) >> 3);
}

// The low 64 bits of IPv6 row `row`'s start, which is in the exception list
// (its kV6Records entry has the low bit set).
[[gnu::noinline]] uint64_t V6StartLow(const RangeView& v, uint64_t row) {
  const core_internal::V6Exception* e =
      core_internal::FindRowEntry(v.v6_exceptions, v.counts.v6_exceptions, row);
  return e != nullptr ? e->lo : 0;
}

}  // namespace

RangeTable::RangeTable(std::unique_ptr<core_internal::RangeStorage> storage,
                       const RangeView& view, size_t table_bytes)
    : storage_(std::move(storage)), view_(view), table_bytes_(table_bytes) {}
RangeTable::RangeTable(RangeTable&&) noexcept = default;
RangeTable& RangeTable::operator=(RangeTable&&) noexcept = default;
RangeTable::~RangeTable() = default;

bool RangeTable::is_mapped() const { return storage_->mapped(); }

inline uint64_t RangeTable::V6Entry(uint64_t row) const {
  return ReadPacked(view_.v6_records, row, view_.counts.record_bits + 1);
}

uint64_t RangeTable::V6Row(Ipv6 address) const {
  const RangeView& v = view_;
  uint64_t hi = address.hi();
  // Three levels, each landing on a key no greater than hi (checked at open
  // by ViewBlock), so every index stays in range.
  uint64_t top = CountAtMost(v.v6_top, v.v6_top_count, hi) - 1;
  uint64_t mid_begin = top * (kV6TopStride / kV6MidStride);
  uint64_t mid = mid_begin - 1 +
                 CountAtMost(v.v6_mid + mid_begin,
                             std::min<uint64_t>(kV6TopStride / kV6MidStride,
                                                v.v6_mid_count - mid_begin),
                             hi);
  uint64_t key_begin = mid * kV6MidStride;
  uint64_t row =
      key_begin - 1 +
      CountAtMost(
          v.v6_keys + key_begin,
          std::min<uint64_t>(kV6MidStride, v.counts.v6_rows - key_begin), hi);
  // Rows starting inside this /64 after the address do not hold it.
  while (v.v6_keys[row] == hi && (V6Entry(row) & 1) != 0 &&
         V6StartLow(v, row) > address.lo()) {
    --row;
  }
  return row;
}

Ipv6 RangeTable::V6Start(uint64_t row) const {
  uint64_t lo = (V6Entry(row) & 1) != 0 ? V6StartLow(view_, row) : 0;
  return Ipv6::FromHalves(view_.v6_keys[row], lo);
}

std::optional<RangeMatch> RangeTable::Lookup(Ipv6 address) const {
  uint64_t row = V6Row(address);
  auto record = static_cast<uint32_t>(V6Entry(row) >> 1);
  if (record == 0) return std::nullopt;
  RangeMatch match;
  FillRecord(record, &match.record);
  match.first = V6Start(row);
  match.last = row + 1 == view_.counts.v6_rows
                   ? Ipv6(~static_cast<unsigned __int128>(0))
                   : Ipv6(V6Start(row + 1).bits() - 1);
  return match;
}

void RangeTable::LookupBatch(std::span<const Ipv4> addresses,
                             std::span<std::optional<RangeRecord>> out) const {
  // A software pipeline: address i has its bucket prefetched at step i, its
  // rows prefetched at step i + kLag, its record prefetched at i + 2 kLag
  // and is answered at i + 3 kLag, so each miss has kLag lookups of other
  // work to hide behind.
  constexpr size_t kLag = 16;
  constexpr size_t kSlots = 64;  // > 3 kLag, a power of two
  const RangeView& v = view_;
  const Ipv4* in = addresses.data();
  const size_t n = addresses.size();
  uint32_t begin[kSlots], end[kSlots], record[kSlots];
  for (size_t step = 0; step < n + 3 * kLag; ++step) {
    if (step < n) __builtin_prefetch(v.v4_buckets + (in[step].bits() >> 16));
    if (size_t i = step - kLag; step >= kLag && i < n) {
      const uint32_t* bucket = v.v4_buckets + (in[i].bits() >> 16);
      size_t slot = i % kSlots;
      begin[slot] = bucket[0];
      end[slot] = bucket[1];
      __builtin_prefetch(v.v4_rows + begin[slot]);
      __builtin_prefetch(v.v4_rows + (begin[slot] + end[slot]) / 2);
    }
    if (size_t i = step - 2 * kLag; step >= 2 * kLag && i < n) {
      size_t slot = i % kSlots;
      uint64_t row = CountV4(v.v4_rows, begin[slot], end[slot],
                             in[i].bits() << 16 | 0xffff) -
                     1;
      record[slot] = V4Record(v, row);
      __builtin_prefetch(v.record_asns + record[slot]);
      __builtin_prefetch(v.records + record[slot]);
    }
    if (size_t i = step - 3 * kLag; step >= 3 * kLag && i < n) {
      uint32_t r = record[i % kSlots];
      if (r == 0) {
        out[i].reset();
      } else {
        FillV4Record(r, &out[i].emplace());
      }
    }
  }
}

void RangeTable::LookupBatch(std::span<const Ipv6> addresses,
                             std::span<std::optional<RangeRecord>> out) const {
  // Groups of kGroup searches advance level by level (top samples, mid
  // samples, keys, record index, record); each level prefetches what the
  // next reads, so a group's misses overlap.
  constexpr size_t kGroup = 8;
  const RangeView& v = view_;
  const uint32_t bits = v.counts.record_bits;
  for (size_t base = 0; base < addresses.size(); base += kGroup) {
    size_t n = std::min(kGroup, addresses.size() - base);
    const Ipv6* in = addresses.data() + base;
    uint64_t mid_begin[kGroup], key_begin[kGroup], row[kGroup];
    uint32_t record[kGroup];
    for (size_t i = 0; i < n; ++i) {
      uint64_t top = CountAtMost(v.v6_top, v.v6_top_count, in[i].hi()) - 1;
      mid_begin[i] = top * (kV6TopStride / kV6MidStride);
      __builtin_prefetch(v.v6_mid + mid_begin[i]);
      __builtin_prefetch(v.v6_mid + mid_begin[i] + 8);
    }
    for (size_t i = 0; i < n; ++i) {
      uint64_t mid =
          mid_begin[i] - 1 +
          CountAtMost(v.v6_mid + mid_begin[i],
                      std::min<uint64_t>(kV6TopStride / kV6MidStride,
                                         v.v6_mid_count - mid_begin[i]),
                      in[i].hi());
      key_begin[i] = mid * kV6MidStride;
      __builtin_prefetch(v.v6_keys + key_begin[i]);
      __builtin_prefetch(v.v6_keys + key_begin[i] + 8);
    }
    for (size_t i = 0; i < n; ++i) {
      uint64_t hi = in[i].hi();
      uint64_t r =
          key_begin[i] - 1 +
          CountAtMost(
              v.v6_keys + key_begin[i],
              std::min<uint64_t>(kV6MidStride, v.counts.v6_rows - key_begin[i]),
              hi);
      while (v.v6_keys[r] == hi && (V6Entry(r) & 1) != 0 &&
             V6StartLow(v, r) > in[i].lo()) {
        --r;
      }
      row[i] = r;
      __builtin_prefetch(PackedByte(v.v6_records, r, bits + 1));
    }
    for (size_t i = 0; i < n; ++i) {
      record[i] = static_cast<uint32_t>(V6Entry(row[i]) >> 1);
      __builtin_prefetch(v.record_asns + record[i]);
      __builtin_prefetch(v.records + record[i]);
    }
    for (size_t i = 0; i < n; ++i) {
      if (record[i] == 0) {
        out[base + i].reset();
      } else {
        FillRecord(record[i], &out[base + i].emplace());
      }
    }
  }
}

void RangeTable::ForEachRange(
    const std::function<void(const IpAddress&, const IpAddress&,
                             const RangeRecord&)>& fn) const {
  const RangeView& v = view_;
  auto v4_start = [&](uint64_t row, uint32_t top) {
    return top << 16 | V4Key(v.v4_rows[row]);
  };
  uint32_t top = 0;
  for (uint64_t row = 0; row < v.counts.v4_rows; ++row) {
    while (v.v4_buckets[top + 1] <= row) ++top;
    uint32_t record = V4Record(v, row);
    if (record == 0) continue;
    uint32_t last = 0xffffffffu;
    if (row + 1 < v.counts.v4_rows) {
      uint32_t next_top = top;
      while (v.v4_buckets[next_top + 1] <= row + 1) ++next_top;
      last = v4_start(row + 1, next_top) - 1;
    }
    RangeRecord r;
    FillV4Record(record, &r);
    fn(Ipv4(v4_start(row, top)), Ipv4(last), r);
  }
  for (uint64_t row = 0; row < v.counts.v6_rows; ++row) {
    auto record = static_cast<uint32_t>(V6Entry(row) >> 1);
    if (record == 0) continue;
    Ipv6 last = row + 1 == v.counts.v6_rows
                    ? Ipv6(~static_cast<unsigned __int128>(0))
                    : Ipv6(V6Start(row + 1).bits() - 1);
    RangeRecord r;
    FillRecord(record, &r);
    fn(V6Start(row), last, r);
  }
}

}  // namespace keel::core
