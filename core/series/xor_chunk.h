// XOR chunks: Prometheus' sample encoding (Gorilla's, with Prometheus' byte
// layout), so a chunk here is byte for byte the chunk Prometheus would write
// for the same samples.
//
// Layout: a 2-byte big-endian sample count, then a bit stream (MSB first):
// sample 0 is varint(t) and the 64 value bits; sample 1 is uvarint(t1 - t0)
// and the value XOR; later timestamps are delta-of-deltas in the buckets
// 0 | 10+14 bits | 110+17 | 1110+20 | 1111+64, and values are XORed with the
// previous value: 0 (same value) | 10 + the bits inside the previous
// leading/trailing-zero window | 11 + 5 bits leading zeros + 6 bits length
// (64 as 0) + the meaningful bits.
//
// XorAppend, with an XorAppendState, encodes into a buffer the caller owns
// (the store's head chunk); XorChunk is a self-contained builder;
// XorIterator decodes.
//
//   keel::core::XorChunk chunk;
//   chunk.Append(1000, 1.5);
//   chunk.Append(16000, 2.5);
//   for (keel::core::XorIterator it(chunk.bytes()); it.Next();)
//     use(it.t(), it.v());
//
// Timestamps must strictly increase within a chunk (the unsigned delta may be
// anything up to 2^64 - 1, so int64 extremes round-trip); values round-trip
// bit for bit, NaN payloads included.
//
// Thread safety: none; one writer or reader per object. An XorIterator reads
// its bytes without copying: they must not change while it runs.
#ifndef KEEL_CORE_SERIES_XOR_CHUNK_H_
#define KEEL_CORE_SERIES_XOR_CHUNK_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace keel::core {

inline constexpr uint8_t kXorEncoding = 1;  // Prometheus' EncXOR
// A sealed window's entry (core/series/internal/sealed_codec.h): keel's own,
// numbered clear of Prometheus' encodings.
inline constexpr uint8_t kSealedEncoding = 128;
inline constexpr std::size_t kXorHeaderBytes = 2;
// Bytes past the used ones an append may touch: 19 for the widest sample
// (145 bits plus a partial byte) and 8 for the word-wide writes.
inline constexpr std::size_t kXorAppendReserve = 28;
inline constexpr uint32_t kXorMaxSamples = 65535;

// The encoder's state between appends; 32 bytes, embedded per series.
struct XorAppendState {
  int64_t t = 0;                           // last timestamp
  uint64_t delta = 0;                      // last timestamp delta
  uint64_t bits = 0;                       // last value bits
  uint32_t bit_len = 8 * kXorHeaderBytes;  // used bits, header included
  uint16_t count = 0;
  uint8_t leading = 0xff;  // 0xff: no XOR window yet
  uint8_t trailing = 0;

  std::size_t bytes() const { return (bit_len + 7) / 8; }
};

// Appends a sample to the chunk in `buf`.
// REQUIRES: buf holds state.bytes() encoded bytes followed by at least
// kXorAppendReserve zero bytes; count < kXorMaxSamples; if count > 0,
// t > state.t.
inline void XorAppend(uint8_t* buf, XorAppendState& state, int64_t t, double v);

// A chunk owning its bytes, for tests and tools.
class XorChunk {
 public:
  XorChunk() : buf_(kXorHeaderBytes + kXorAppendReserve, 0) {}
  // REQUIRES: as XorAppend.
  void Append(int64_t t, double v);
  std::span<const uint8_t> bytes() const {
    return {buf_.data(), state_.bytes()};
  }
  const XorAppendState& state() const { return state_; }

 private:
  std::vector<uint8_t> buf_;
  XorAppendState state_;
};

namespace core_internal {
// The decoder's state, kept apart so a decode loop can hold it in registers.
struct XorCursor {
  const uint8_t* p = nullptr;  // next byte to load into word
  const uint8_t* end = nullptr;
  uint64_t word = 0;     // next bits, MSB first
  unsigned avail = 0;    // valid bits in word
  unsigned overrun = 0;  // zero bits supplied past the end
  int64_t t = 0;
  uint64_t delta = 0;
  uint64_t bits = 0;
  uint8_t leading = 0xff;
  uint8_t trailing = 0;
};
}  // namespace core_internal

// Decodes a chunk's samples in order, one at a time (Next) or a block at a
// time (Decode, which keeps the cursor in registers across the block).
class XorIterator {
 public:
  XorIterator() = default;
  explicit XorIterator(std::span<const uint8_t> chunk);

  // Advances to the next sample; false at the end or on malformed bytes
  // (then status() says what and where).
  bool Next();
  int64_t t() const { return c_.t; }
  double v() const;
  uint64_t value_bits() const { return c_.bits; }

  // Decodes up to `max` next samples into t[] and value_bits[]; returns how
  // many (0 at the end or on malformed bytes). Afterwards t() and v() are
  // the last sample decoded.
  std::size_t Decode(int64_t* t, uint64_t* value_bits, std::size_t max);

  // The sample count from the header.
  uint16_t count() const { return count_; }
  absl::Status status() const;

 private:
  bool NextSlow();

  core_internal::XorCursor c_;
  const uint8_t* begin_ = nullptr;
  uint16_t count_ = 0;
  uint16_t read_ = 0;
  bool corrupt_ = false;
};

// The first timestamp of a chunk (its minimum) without decoding the rest.
// REQUIRES: the chunk holds at least one sample and is well formed.
int64_t XorFirstTimestamp(std::span<const uint8_t> chunk);
// The sample count in a chunk's header. REQUIRES: chunk.size() >= 2.
inline uint16_t XorSampleCount(std::span<const uint8_t> chunk) {
  return static_cast<uint16_t>(chunk[0] << 8 | chunk[1]);
}

}  // namespace keel::core

#include "core/series/internal/chunk_xor_inline.h"  // IWYU pragma: export

#endif  // KEEL_CORE_SERIES_XOR_CHUNK_H_
