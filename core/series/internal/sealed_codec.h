// The sealed-window chunk encoding: how a series' samples in a window that
// no longer takes appends are kept, at a fraction of the XOR encoding's
// bytes, and decoded a buffer at a time (SampleIterator) by SealedDecoder.
//
// What makes it small, chosen per block by measuring the candidates:
// - timestamps as differences from the block's scrape interval (its most
//   common delta), or as delta-of-deltas, zig-zag varints;
// - values as decimal mantissas under one exponent for the block when every
//   value converts back bit for bit (m * 10^e or m / 10^-e, all operands
//   exact doubles, so IEEE rounding makes the round trip exact), stored as
//   deltas or delta-of-deltas of the mantissas; the few values that do not
//   convert (NaN payloads, the stale marker, -0, infinities, long binary
//   fractions) are kept as raw bits beside them. When too many do not, the
//   whole block stores values XORed with their predecessor, 8 bytes each;
// - the sections then go through zstd when that makes them smaller.
//
// Block layout: a 2-byte big-endian sample count and the first timestamp as
// a zig-zag varint, as in an XOR chunk (XorSampleCount and
// XorFirstTimestamp read both), then a flags byte (bit 0: zstd), the body's
// uncompressed size as a uvarint when zstd is on, and the body:
//   uvarint ts_bytes, uvarint value_bytes, ts section, value section,
//   exception section (uvarint count, then per exception a uvarint index
//   gap and 8 little-endian value bytes).
// ts section: uvarint interval D, u8 mode (0: d_i - D; 1: d_1 - D, then
// d_i - d_(i-1)), then n zig-zag varints (sample 0's is 0). value section: u8
// mode (0: decimal deltas, 1: decimal delta-of-deltas, 2: XOR), for decimal a
// zig-zag exponent and n zig-zag varints (the first mantissa, then the
// differences), for XOR n x 8 little-endian bytes.
//
//   std::vector<uint8_t> block;
//   EncodeSealed(times, value_bits, block);
//   SealedDecoder decoder;
//   if (decoder.Open(block).ok())
//     while (std::size_t n = decoder.Decode(t, bits, 128)) use(t, bits, n);
//
// Thread safety: EncodeSealed is reentrant; a SealedDecoder is one reader's.
#ifndef KEEL_CORE_SERIES_INTERNAL_SEALED_CODEC_H_
#define KEEL_CORE_SERIES_INTERNAL_SEALED_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace keel::core::core_internal {

// A block's body (what zstd compresses, and the decoder's buffer) stays
// within this, so a block with its header fits a SealedChunk's 16-bit length.
inline constexpr std::size_t kSealedMaxBody = 60000;
inline constexpr std::size_t kSealedMaxSamples = 65535;

struct SealedEncodeOptions {
  int zstd_level = 3;  // 0: never compress the body
};

// Encodes the first samples of `t` and `bits` (strictly increasing times)
// into one block appended to `out`, as many as fit kSealedMaxBody and
// kSealedMaxSamples; returns how many. REQUIRES: !t.empty(), t.size() ==
// bits.size().
std::size_t EncodeSealed(std::span<const int64_t> t,
                         std::span<const uint64_t> bits,
                         std::vector<uint8_t>& out,
                         const SealedEncodeOptions& options = {});

// The decimal form of one value, if it has one: m * 10^e (e >= 0) or
// m / 10^-e (e < 0) equals the value bit for bit, |m| <= 2^53, with the
// fewest decimals. Exposed for tests and measurements.
bool ToDecimal(uint64_t bits, int64_t& mantissa, int& exponent);

// Decodes one block a buffer at a time. Keeps the decompressed body in a
// buffer of its own, reused across Open calls.
class SealedDecoder {
 public:
  // Checks the header and the section bounds, decompresses the body.
  // DataLoss naming the field on malformed bytes.
  absl::Status Open(std::span<const uint8_t> block);
  // Decodes up to `max` next samples; 0 at the end. A malformed section
  // ends the block early and sets status().
  std::size_t Decode(int64_t* t, uint64_t* bits, std::size_t max);
  uint32_t count() const { return count_; }
  const absl::Status& status() const { return status_; }

 private:
  void Fail(const char* what);

  std::vector<uint8_t> body_;
  const uint8_t* ts_ = nullptr;  // next byte of each section
  const uint8_t* ts_end_ = nullptr;
  const uint8_t* val_ = nullptr;
  const uint8_t* val_end_ = nullptr;
  const uint8_t* exc_ = nullptr;
  const uint8_t* exc_end_ = nullptr;
  uint32_t count_ = 0;
  uint32_t read_ = 0;
  uint32_t exceptions_left_ = 0;
  uint64_t next_exception_ = 0;  // sample index of the next exception
  uint8_t ts_mode_ = 0;
  uint8_t value_mode_ = 0;
  int exponent_ = 0;
  int64_t t_ = 0;
  uint64_t interval_ = 0;
  uint64_t delta_ = 0;  // last timestamp delta
  uint64_t m_ = 0;      // last mantissa (or value bits in XOR mode)
  uint64_t m_delta_ = 0;
  absl::Status status_;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SEALED_CODEC_H_
