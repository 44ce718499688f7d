#include "core/io/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace keel::core {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // 0x1EDC6F41 reflected

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zeros.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int i = 0; i < 8; ++i)
      crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    t[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (int k = 1; k < 8; ++k)
      t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

uint32_t PortableRaw(uint32_t crc, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint32_t lo = (p[0] | p[1] << 8 | p[2] << 16 | uint32_t{p[3]} << 24) ^ crc;
    uint32_t hi = p[4] | p[5] << 8 | p[6] << 16 | uint32_t{p[7]} << 24;
    crc = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^
          kTables[5][(lo >> 16) & 0xFF] ^ kTables[4][lo >> 24] ^
          kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
          kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xFF];
  return crc;
}

#if defined(__x86_64__)
// The crc32 instruction takes 3 cycles but issues every cycle, so one
// dependent chain runs at a third of its speed. Long inputs are summed as
// three interleaved streams and combined by shifting the first two over
// the bytes that follow them (Mark Adler's crc32c.c): a CRC register
// advanced over n zero bytes is a linear map, applied byte by byte through
// four tables built for that n.

// Matrices over GF(2): column k is the image of bit k.
using Matrix = std::array<uint32_t, 32>;

constexpr uint32_t Times(const Matrix& m, uint32_t v) {
  uint32_t sum = 0;
  for (int k = 0; v != 0; ++k, v >>= 1) {
    if (v & 1) sum ^= m[k];
  }
  return sum;
}

constexpr Matrix Square(const Matrix& m) {
  Matrix out{};
  for (int k = 0; k < 32; ++k) out[k] = Times(m, m[k]);
  return out;
}

using ShiftTables = std::array<std::array<uint32_t, 256>, 4>;

// Tables advancing a CRC register over `bytes` zero bytes (a power of 2).
constexpr ShiftTables MakeShift(size_t bytes) {
  Matrix op{};  // one zero bit
  op[0] = kPolynomial;
  for (int k = 1; k < 32; ++k) op[k] = uint32_t{1} << (k - 1);
  for (size_t bits = 1; bits < bytes * 8; bits *= 2) op = Square(op);
  ShiftTables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    for (int k = 0; k < 4; ++k) t[k][b] = Times(op, b << (8 * k));
  }
  return t;
}

constexpr size_t kLong = 8192;
constexpr size_t kShort = 256;
constexpr ShiftTables kShiftLong = MakeShift(kLong);
constexpr ShiftTables kShiftShort = MakeShift(kShort);

uint64_t Shift(const ShiftTables& t, uint64_t crc) {
  return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^
         t[3][(crc >> 24) & 0xFF];
}

[[gnu::target("sse4.2")]] inline uint64_t Word(uint64_t crc, const uint8_t* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return _mm_crc32_u64(crc, word);
}

// `n` bytes from p as three streams of `len` bytes each, repeatedly.
[[gnu::target("sse4.2")]] inline uint64_t ThreeWay(uint64_t c0,
                                                   const uint8_t*& p, size_t& n,
                                                   size_t len,
                                                   const ShiftTables& shift) {
  while (n >= 3 * len) {
    uint64_t c1 = 0;
    uint64_t c2 = 0;
    for (const uint8_t* end = p + len; p < end; p += 8) {
      c0 = Word(c0, p);
      c1 = Word(c1, p + len);
      c2 = Word(c2, p + 2 * len);
    }
    c0 = Shift(shift, c0) ^ c1;
    c0 = Shift(shift, c0) ^ c2;
    p += 2 * len;
    n -= 3 * len;
  }
  return c0;
}

[[gnu::target("sse4.2")]] uint32_t HardwareRaw(uint32_t crc, const uint8_t* p,
                                               size_t n) {
  uint64_t c = crc;
  c = ThreeWay(c, p, n, kLong, kShiftLong);
  c = ThreeWay(c, p, n, kShort, kShiftShort);
  while (n >= 8) {
    c = Word(c, p);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

const bool kHasSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t ExtendCrc32cPortable(uint32_t crc, const void* data, size_t n) {
  return ~PortableRaw(~crc, static_cast<const uint8_t*>(data), n);
}

uint32_t ExtendCrc32c(uint32_t crc, const void* data, size_t n) {
#if defined(__x86_64__)
  if (kHasSse42) {
    return ~HardwareRaw(~crc, static_cast<const uint8_t*>(data), n);
  }
#endif
  return ExtendCrc32cPortable(crc, data, n);
}

}  // namespace keel::core
