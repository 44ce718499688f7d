// Byte-aligned integer coding for sealed blocks (sealed_codec.h): unsigned
// LEB128 varints, zig-zag signs, little-endian words (core/io/little_endian.h).
// ReadUvarint trusts the caller for bounds (the decoder pads its buffer and
// checks after a batch); ReadUvarintIn reads fields not yet checked.
#ifndef KEEL_CORE_SERIES_INTERNAL_SEALED_VARINT_H_
#define KEEL_CORE_SERIES_INTERNAL_SEALED_VARINT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/io/little_endian.h"

namespace keel::core::core_internal {

// Zig-zag of a two's complement difference held in a uint64_t.
inline uint64_t ZigZag(uint64_t x) {
  return (x << 1) ^ static_cast<uint64_t>(static_cast<int64_t>(x) >> 63);
}
inline uint64_t UnZigZag(uint64_t x) { return (x >> 1) ^ (0 - (x & 1)); }

inline std::size_t UvarintBytes(uint64_t x) {
  std::size_t n = 1;
  while (x >= 0x80) {
    x >>= 7;
    ++n;
  }
  return n;
}

inline void PutUvarint(std::vector<uint8_t>& out, uint64_t x) {
  while (x >= 0x80) {
    out.push_back(static_cast<uint8_t>(x | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<uint8_t>(x));
}

inline void PutLE64(std::vector<uint8_t>& out, uint64_t x) {
  std::size_t at = out.size();
  out.resize(at + 8);
  PutU64(out.data() + at, x);
}

// Reads a varint of at most 10 bytes; no bound check.
[[gnu::always_inline]] inline uint64_t ReadUvarint(const uint8_t*& p) {
  uint64_t b = *p++;
  if (b < 0x80) [[likely]] {
    return b;
  }
  uint64_t x = b & 0x7f;
  for (unsigned shift = 7;; shift += 7) {
    b = *p++;
    x |= (b & 0x7f) << shift;
    if (b < 0x80 || shift >= 63) return x;
  }
}

// Reads a uvarint from [p, end); false if it does not end inside.
inline bool ReadUvarintIn(const uint8_t*& p, const uint8_t* end, uint64_t& x) {
  x = 0;
  for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
    uint8_t b = *p++;
    x |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) return true;
  }
  return false;
}

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SEALED_VARINT_H_
