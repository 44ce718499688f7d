// Little-endian fixed-width integers, the snapshot format's byte order.
//
//   uint8_t buf[12];
//   PutU32(buf, 7);
//   PutI64(buf + 4, -1);
//   GetU32(buf);                        // 7
//
// REQUIRES: the pointers address enough bytes. Thread safety: pure functions.
#ifndef KEEL_CORE_IO_LITTLE_ENDIAN_H_
#define KEEL_CORE_IO_LITTLE_ENDIAN_H_

#include <bit>
#include <cstdint>
#include <cstring>

namespace keel::core {

template <typename T>
inline T ToLittle(T v) {
  if constexpr (std::endian::native == std::endian::big) {
    if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(v));
    if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(v));
  }
  return v;
}

inline void PutU32(uint8_t* p, uint32_t v) {
  v = ToLittle(v);
  std::memcpy(p, &v, 4);
}
inline void PutU64(uint8_t* p, uint64_t v) {
  v = ToLittle(v);
  std::memcpy(p, &v, 8);
}
inline void PutI64(uint8_t* p, int64_t v) {
  PutU64(p, static_cast<uint64_t>(v));
}
inline uint32_t GetU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return ToLittle(v);
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return ToLittle(v);
}
inline int64_t GetI64(const uint8_t* p) {
  return static_cast<int64_t>(GetU64(p));
}

}  // namespace keel::core

#endif  // KEEL_CORE_IO_LITTLE_ENDIAN_H_
