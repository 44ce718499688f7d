// RepairSnapshot: makes a fuzzed snapshot's framing consistent again (file
// size and largest payload in the header, every CRC, the footer's chain
// checksum and block count), so that mutations inside records reach the
// record checks that stand behind the CRCs instead of dying at the first
// checksum. Inputs without the magic are left alone, which keeps the header
// checks themselves fuzzed. Follows snapshot/FORMAT.md.
#ifndef KEEL_TESTS_FUZZ_SNAPSHOT_FIXUP_H_
#define KEEL_TESTS_FUZZ_SNAPSHOT_FIXUP_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/io/crc32c.h"
#include "snapshot/internal/format.h"

namespace keel::fuzz {

inline void RepairSnapshot(std::string& file) {
  namespace si = snapshot::snapshot_internal;
  constexpr size_t kHeader = si::kHeaderBytes;
  constexpr size_t kBlockHeader = si::kBlockHeaderBytes;
  if (file.size() < kHeader ||
      std::memcmp(file.data(), si::kMagic, sizeof(si::kMagic)) != 0) {
    return;
  }
  auto put32 = [&](size_t at, uint32_t v) { std::memcpy(&file[at], &v, 4); };
  auto put64 = [&](size_t at, uint64_t v) { std::memcpy(&file[at], &v, 8); };
  auto get32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, &file[at], 4);
    return v;
  };

  // Pass 1: payload lengths cut to the file, the largest one noted.
  uint32_t largest = 0;
  for (size_t at = kHeader; at + kBlockHeader <= file.size();) {
    uint32_t payload = static_cast<uint32_t>(
        std::min<uint64_t>(get32(at + 4), file.size() - at - kBlockHeader));
    put32(at + 4, payload);
    largest = std::max(largest, payload);
    bool footer = static_cast<uint8_t>(file[at]) ==
                  static_cast<uint8_t>(si::Section::kFooter);
    at += kBlockHeader + payload;
    if (footer) break;
  }
  put64(48, file.size());
  put32(56, std::min<uint32_t>(largest, si::kMaxReadBuffer));
  put32(60, core::Crc32c(file.data(), 60));

  // Pass 2: block CRCs and the chain over the data blocks' headers.
  uint32_t chain = core::Crc32c(file.data(), kHeader);
  uint64_t data_blocks = 0;
  for (size_t at = kHeader; at + kBlockHeader <= file.size();) {
    uint32_t payload = get32(at + 4);
    bool footer = static_cast<uint8_t>(file[at]) ==
                  static_cast<uint8_t>(si::Section::kFooter);
    if (footer && payload >= si::kFooterPayloadBytes) {
      put64(at + kBlockHeader + 32, data_blocks);
      put32(at + kBlockHeader + 40, chain);
    }
    uint32_t crc = core::Crc32c(&file[at], 12);
    crc = core::ExtendCrc32c(crc, &file[at + kBlockHeader], payload);
    put32(at + 12, crc);
    if (footer) break;
    chain = core::ExtendCrc32c(chain, &file[at], kBlockHeader);
    ++data_blocks;
    at += kBlockHeader + payload;
  }
}

}  // namespace keel::fuzz

#endif  // KEEL_TESTS_FUZZ_SNAPSHOT_FIXUP_H_
