// Inline hot paths of xor_chunk.h: the encoder's bit writes and the
// decoder's bit reads, kept in the caller's loop. Include xor_chunk.h, not
// this file.
#ifndef KEEL_CORE_SERIES_INTERNAL_CHUNK_XOR_INLINE_H_
#define KEEL_CORE_SERIES_INTERNAL_CHUNK_XOR_INLINE_H_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace keel::core {
namespace core_internal {

inline uint64_t LoadBE64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return __builtin_bswap64(w);
}

inline void StoreBE64(uint8_t* p, uint64_t w) {
  w = __builtin_bswap64(w);
  std::memcpy(p, &w, 8);
}

// Writes the low n bits of v (1 <= n <= 64, higher bits zero) at bit `pos`,
// MSB first. The bytes it touches beyond pos are zero, so OR-ing is enough.
inline void PutBits(uint8_t* buf, uint32_t& pos, uint64_t v, unsigned n) {
  uint8_t* p = buf + (pos >> 3);
  unsigned shift = pos & 7;
  if (n + shift <= 64) {
    StoreBE64(p, LoadBE64(p) | (v << (64 - n - shift)));
  } else {
    unsigned rest = n + shift - 64;  // 1..7 bits spill into p[8]
    StoreBE64(p, LoadBE64(p) | (v >> rest));
    p[8] |= static_cast<uint8_t>(v << (8 - rest));
  }
  pos += n;
}

inline void PutUvarint(uint8_t* buf, uint32_t& pos, uint64_t x) {
  while (x >= 0x80) {
    PutBits(buf, pos, (x & 0x7f) | 0x80, 8);
    x >>= 7;
  }
  PutBits(buf, pos, x, 8);
}

// Go's binary.PutVarint: zig-zag, then uvarint.
inline void PutVarint(uint8_t* buf, uint32_t& pos, int64_t x) {
  uint64_t ux = static_cast<uint64_t>(x) << 1;
  if (x < 0) ux = ~ux;
  PutUvarint(buf, pos, ux);
}

// Go's bitRange: whether x fits the n-bit bucket as Prometheus defines it.
inline bool BitRange(int64_t x, unsigned n) {
  return -((int64_t{1} << (n - 1)) - 1) <= x && x <= (int64_t{1} << (n - 1));
}

inline void PutValue(uint8_t* buf, XorAppendState& s, uint64_t bits) {
  uint64_t delta = bits ^ s.bits;
  s.bits = bits;
  if (delta == 0) {
    PutBits(buf, s.bit_len, 0, 1);
    return;
  }
  unsigned leading = std::countl_zero(delta);
  unsigned trailing = std::countr_zero(delta);
  if (leading >= 32) leading = 31;
  if (s.leading != 0xff && leading >= s.leading && trailing >= s.trailing) {
    PutBits(buf, s.bit_len, 0b10, 2);
    PutBits(buf, s.bit_len, delta >> s.trailing, 64 - s.leading - s.trailing);
    return;
  }
  s.leading = static_cast<uint8_t>(leading);
  s.trailing = static_cast<uint8_t>(trailing);
  unsigned sigbits = 64 - leading - trailing;
  // 11, 5 bits leading, 6 bits length (64 wraps to 0): 13 bits at once.
  PutBits(buf, s.bit_len, (0b11u << 11) | (leading << 6) | (sigbits & 63), 13);
  PutBits(buf, s.bit_len, delta >> trailing, sigbits);
}

}  // namespace core_internal

inline void XorAppend(uint8_t* buf, XorAppendState& s, int64_t t, double v) {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  if (s.count >= 2) {
    uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(s.t);
    auto dod = static_cast<int64_t>(delta - s.delta);
    if (dod == 0) {
      core_internal::PutBits(buf, s.bit_len, 0, 1);
    } else if (core_internal::BitRange(dod, 14)) {
      core_internal::PutBits(buf, s.bit_len, (0b10ull << 14) | (dod & 0x3fff),
                             16);
    } else if (core_internal::BitRange(dod, 17)) {
      core_internal::PutBits(buf, s.bit_len, (0b110ull << 17) | (dod & 0x1ffff),
                             20);
    } else if (core_internal::BitRange(dod, 20)) {
      core_internal::PutBits(buf, s.bit_len,
                             (0b1110ull << 20) | (dod & 0xfffff), 24);
    } else {
      core_internal::PutBits(buf, s.bit_len, 0b1111, 4);
      core_internal::PutBits(buf, s.bit_len, static_cast<uint64_t>(dod), 64);
    }
    s.delta = delta;
    core_internal::PutValue(buf, s, bits);
  } else if (s.count == 1) {
    s.delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(s.t);
    core_internal::PutUvarint(buf, s.bit_len, s.delta);
    core_internal::PutValue(buf, s, bits);
  } else {
    core_internal::PutVarint(buf, s.bit_len, t);
    core_internal::PutBits(buf, s.bit_len, bits, 64);
    s.bits = bits;
  }
  s.t = t;
  ++s.count;
  buf[0] = static_cast<uint8_t>(s.count >> 8);
  buf[1] = static_cast<uint8_t>(s.count);
}

namespace core_internal {

[[gnu::always_inline]] inline void Refill(XorCursor& c) {
  if (c.end - c.p >= 8) [[likely]] {
    c.word |= LoadBE64(c.p) >> c.avail;
    c.p += (63 - c.avail) >> 3;
    c.avail |= 56;
    return;
  }
  // Near the end: byte by byte, then zeros, counted so that reading past the
  // end is caught.
  while (c.avail <= 56) {
    if (c.p < c.end) {
      c.word |= uint64_t{*c.p++} << (56 - c.avail);
    } else {
      c.overrun += 8;
    }
    c.avail += 8;
  }
}

// REQUIRES: 1 <= n <= 56.
[[gnu::always_inline]] inline uint64_t ReadBits(XorCursor& c, unsigned n) {
  if (c.avail < n) Refill(c);
  uint64_t v = c.word >> (64 - n);
  c.word <<= n;
  c.avail -= n;
  return v;
}

// Decodes a sample after the first two; false on malformed bits.
[[gnu::always_inline]] inline bool XorDecodeNext(XorCursor& c) {
  if (c.avail < 57) Refill(c);
  // Timestamp: the bucket prefix is at most 4 bits. A zero delta-of-delta
  // leaves 56 bits, enough for the value's 13-bit header.
  if ((c.word >> 63) == 0) [[likely]] {
    c.word <<= 1;
    c.avail -= 1;
  } else {
    unsigned prefix = static_cast<unsigned>(c.word >> 60);
    unsigned size;
    unsigned used;
    if ((prefix & 0b0100) == 0) {
      size = 14, used = 2;
    } else if ((prefix & 0b0010) == 0) {
      size = 17, used = 3;
    } else if ((prefix & 0b0001) == 0) {
      size = 20, used = 4;
    } else {
      size = 64, used = 4;
    }
    c.word <<= used;
    c.avail -= used;
    uint64_t dod;
    if (size == 64) {
      dod = ReadBits(c, 32) << 32;
      dod |= ReadBits(c, 32);
    } else {
      dod = ReadBits(c, size);
      if (dod > (uint64_t{1} << (size - 1))) dod -= uint64_t{1} << size;
    }
    c.delta += dod;
    if (c.avail < 13) Refill(c);
  }
  c.t = static_cast<int64_t>(static_cast<uint64_t>(c.t) + c.delta);
  // Value: 0 same | 10 reuse the window | 11 new window.
  if ((c.word >> 63) == 0) {
    c.word <<= 1;
    c.avail -= 1;
  } else {
    if ((c.word >> 62) == 0b11) {
      unsigned header = static_cast<unsigned>(c.word >> 51) & 0x7ff;
      c.word <<= 13;
      c.avail -= 13;
      unsigned lead = header >> 6;
      unsigned sig = header & 63;
      if (sig == 0) sig = 64;
      if (lead + sig > 64) [[unlikely]] {
        return false;
      }
      c.leading = static_cast<uint8_t>(lead);
      c.trailing = static_cast<uint8_t>(64 - lead - sig);
    } else {
      if (c.leading == 0xff) [[unlikely]] {  // no window to reuse
        return false;
      }
      c.word <<= 2;
      c.avail -= 2;
    }
    unsigned sig = 64 - c.leading - c.trailing;
    uint64_t x = sig > 56 ? (ReadBits(c, sig - 32) << 32) | ReadBits(c, 32)
                          : ReadBits(c, sig);
    c.bits ^= x << c.trailing;
  }
  return c.overrun <= c.avail;
}

}  // namespace core_internal

inline bool XorIterator::Next() {
  if (read_ >= count_ || corrupt_) return false;
  if (read_ < 2) return NextSlow();
  if (!core_internal::XorDecodeNext(c_)) [[unlikely]] {
    corrupt_ = true;
    return false;
  }
  ++read_;
  return true;
}

inline std::size_t XorIterator::Decode(int64_t* t, uint64_t* value_bits,
                                       std::size_t max) {
  std::size_t n = 0;
  while (n < max && read_ < 2) {
    if (!Next()) return n;
    t[n] = c_.t;
    value_bits[n] = c_.bits;
    ++n;
  }
  if (corrupt_) return n;
  std::size_t todo = std::min<std::size_t>(max - n, count_ - read_);
  core_internal::XorCursor c = c_;
  std::size_t i = 0;
  for (; i < todo; ++i) {
    if (!core_internal::XorDecodeNext(c)) [[unlikely]] {
      corrupt_ = true;
      break;
    }
    t[n + i] = c.t;
    value_bits[n + i] = c.bits;
  }
  c_ = c;
  read_ = static_cast<uint16_t>(read_ + i);
  return n + i;
}

inline double XorIterator::v() const { return std::bit_cast<double>(c_.bits); }

}  // namespace keel::core

#endif  // KEEL_CORE_SERIES_INTERNAL_CHUNK_XOR_INLINE_H_
