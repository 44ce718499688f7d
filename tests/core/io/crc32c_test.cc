#include "core/io/crc32c.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace keel::core {
namespace {

TEST_CASE("crc32c matches the published check values", "[crc32c]") {
  const std::string check = "123456789";
  CHECK(Crc32c(check.data(), check.size()) == 0xE3069283u);
  CHECK(ExtendCrc32cPortable(0, check.data(), check.size()) == 0xE3069283u);

  // RFC 3720 (iSCSI) appendix B.4 vectors.
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  CHECK(Crc32c(zeros.data(), 32) == 0x8A9136AAu);
  CHECK(Crc32c(ones.data(), 32) == 0x62A8AB43u);
  CHECK(Crc32c(up.data(), 32) == 0x46DD794Eu);
  CHECK(Crc32c(down.data(), 32) == 0x113FDB5Cu);
  CHECK(ExtendCrc32cPortable(0, down.data(), 32) == 0x113FDB5Cu);
  CHECK(Crc32c(nullptr, 0) == 0u);
}

TEST_CASE("crc32c hardware and table agree, and extend concatenates",
          "[crc32c]") {
  std::mt19937_64 rng(7);
  // Past 3 x 256 and 3 x 8192 bytes the hardware version runs three
  // interleaved streams.
  std::vector<uint8_t> data(60000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t n : {0,    1,    3,     7,     8,     9,     15,    16,
                   17,   63,   64,    65,    767,   768,   769,   1000,
                   4999, 5000, 24575, 24576, 24577, 25000, 50000, 59990}) {
    for (size_t offset : {0, 1, 5}) {
      if (offset + n > data.size()) continue;
      const uint8_t* p = data.data() + offset;
      uint32_t whole = Crc32c(p, n);
      CHECK(whole == ExtendCrc32cPortable(0, p, n));
      size_t split = n / 3;
      CHECK(ExtendCrc32c(Crc32c(p, split), p + split, n - split) == whole);
    }
  }
}

}  // namespace
}  // namespace keel::core
