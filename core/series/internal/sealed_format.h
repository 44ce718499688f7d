// The codes of the sealed frame format (its layout: sealed_codec.h), shared
// by the encoder (sealed_codec.cc) and the decoder (sealed_decoder.cc), so
// that the two cannot disagree on a number.
#ifndef KEEL_CORE_SERIES_INTERNAL_SEALED_FORMAT_H_
#define KEEL_CORE_SERIES_INTERNAL_SEALED_FORMAT_H_

#include <cstdint>

namespace keel::core::core_internal {

// A frame's flags.
inline constexpr uint8_t kSealedFlagZstd = 1;

// How an entry stores its timestamps.
inline constexpr uint8_t kSealedTsFromInterval = 0;
inline constexpr uint8_t kSealedTsDeltaOfDelta = 1;
inline constexpr uint8_t kSealedTsFromGrid = 2;
inline constexpr uint8_t kSealedTsRegular = 3;  // the grid itself: no entries

// How an entry stores its values.
inline constexpr uint8_t kSealedValueDelta = 0;
inline constexpr uint8_t kSealedValueDeltaOfDelta = 1;
inline constexpr uint8_t kSealedValueXor = 2;
inline constexpr uint8_t kSealedValueConstant = 3;  // one mantissa, no stream

// Decimal values are mantissa × 10^exponent with |exponent| up to this:
// 10^22 is the largest power of ten a double holds exactly.
inline constexpr int kSealedMaxExponent = 22;
inline constexpr double kSealedPow10[kSealedMaxExponent + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SEALED_FORMAT_H_
