// CRC32C (Castagnoli), the checksum of every snapshot block.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it and a table
// otherwise; both give the same values (crc32c("123456789") == 0xE3069283).
// Extend() continues a CRC over more bytes, so a block's header and payload
// can be summed without copying them together.
//
//   uint32_t crc = Crc32c(header, 12);
//   crc = ExtendCrc32c(crc, payload.data(), payload.size());
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_IO_CRC32C_H_
#define KEEL_CORE_IO_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace keel::core {

// The CRC32C of data[0, n) continued from `crc` (the value a previous call
// returned; 0 for a fresh start).
uint32_t ExtendCrc32c(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(const void* data, size_t n) {
  return ExtendCrc32c(0, data, n);
}

// The portable table version, exposed so tests check it against the
// hardware one on every machine.
uint32_t ExtendCrc32cPortable(uint32_t crc, const void* data, size_t n);

}  // namespace keel::core

#endif  // KEEL_CORE_IO_CRC32C_H_
