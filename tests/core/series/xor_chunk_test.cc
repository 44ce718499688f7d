#include "core/series/xor_chunk.h"

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace keel::core {
namespace {

struct Sample {
  int64_t t;
  uint64_t bits;
};

// Encodes `samples`, decodes them back and requires every timestamp and
// value bit to match the plain vector.
void RequireRoundTrip(const std::vector<Sample>& samples) {
  XorChunk chunk;
  for (const Sample& s : samples)
    chunk.Append(s.t, std::bit_cast<double>(s.bits));
  REQUIRE(XorSampleCount(chunk.bytes()) == samples.size());
  if (!samples.empty()) {
    REQUIRE(XorFirstTimestamp(chunk.bytes()) == samples.front().t);
  }
  XorIterator it(chunk.bytes());
  for (const Sample& s : samples) {
    REQUIRE(it.Next());
    REQUIRE(it.t() == s.t);
    REQUIRE(it.value_bits() == s.bits);
  }
  REQUIRE_FALSE(it.Next());
  REQUIRE(it.status().ok());
}

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

TEST_CASE("bytes match Prometheus' XOR layout for a small chunk") {
  XorChunk chunk;
  chunk.Append(1000, 1.0);
  chunk.Append(2000, 1.0);
  // count 2 | varint(1000): zig-zag 2000 = d0 0f | 1.0 | uvarint(1000) = e8 07
  // | value unchanged: one 0 bit, padded.
  std::vector<uint8_t> want = {0x00, 0x02, 0xd0, 0x0f, 0x3f, 0xf0, 0,   0,
                               0,    0,    0,    0,    0xe8, 0x07, 0x00};
  auto got = chunk.bytes();
  REQUIRE(std::vector<uint8_t>(got.begin(), got.end()) == want);
}

TEST_CASE("delta-of-delta buckets and value windows are used as Prometheus") {
  XorChunk chunk;
  chunk.Append(0, 0.0);
  chunk.Append(15000, 0.0);
  chunk.Append(30000, 0.0);  // dod 0, same value: 2 bits
  std::size_t before = chunk.state().bit_len;
  chunk.Append(45000, 0.0);
  REQUIRE(chunk.state().bit_len - before == 2);
  before = chunk.state().bit_len;
  chunk.Append(60001, 0.0);  // dod 1: '10' + 14 bits, value '0'
  REQUIRE(chunk.state().bit_len - before == 17);
}

TEST_CASE("special values and extreme timestamps round-trip bit-exact") {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<Sample> samples = {
      {kMin, Bits(0.0)},
      {kMin + 1, Bits(-0.0)},
      {-1, 0x7ff0000000000002ull},  // Prometheus' stale marker NaN
      {0, 0xfff8dead0000beefull},   // negative NaN with a payload
      {1, Bits(std::numeric_limits<double>::infinity())},
      {2, Bits(-std::numeric_limits<double>::infinity())},
      {kMax / 2, Bits(std::numeric_limits<double>::denorm_min())},
      {kMax - 1, Bits(std::numeric_limits<double>::max())},
      {kMax, Bits(std::numeric_limits<double>::lowest())},
  };
  RequireRoundTrip(samples);
  RequireRoundTrip({{kMin, Bits(1.0)}, {kMax, Bits(2.0)}});
  RequireRoundTrip({{kMax, 0x7ff8000000000001ull}});
}

TEST_CASE("randomized samples round-trip against a plain vector") {
  std::mt19937_64 rng(20261122);
  auto below = [&](uint64_t n) { return rng() % n; };
  for (int round = 0; round < 400; ++round) {
    std::vector<Sample> samples;
    std::size_t n = 1 + below(round % 10 == 0 ? kXorMaxSamples : 300);
    int64_t t = static_cast<int64_t>(rng());
    uint64_t step = below(4) == 0 ? rng() >> below(64) : 15000;
    double value = static_cast<double>(below(1000));
    for (std::size_t i = 0; i < n; ++i) {
      uint64_t bits;
      switch (below(8)) {
        case 0:
          bits = rng();  // anything, NaN payloads included
          break;
        case 1:
          bits = Bits(value);  // repeat
          break;
        case 2:
          value += static_cast<double>(below(10));
          bits = Bits(value);
          break;
        case 3:
          bits = Bits(std::round(value * (1 + (below(100) - 50) / 1000.0)));
          break;
        case 4:
          bits = std::array<uint64_t, 5>{Bits(-0.0), Bits(0.0), Bits(INFINITY),
                                         Bits(-INFINITY),
                                         0x7ff0000000000002ull}[below(5)];
          break;
        default:
          bits = Bits(value + below(3) * 0.25);
      }
      samples.push_back({t, bits});
      // Jittered, regular, or huge steps; stop before wrapping past INT64_MAX.
      uint64_t next = step + (below(20) == 0 ? below(11) - 5 : 0);
      if (below(50) == 0) next = rng() >> below(64);
      if (next == 0) next = 1;
      if (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) -
                  static_cast<uint64_t>(t) <
              next ||
          t > std::numeric_limits<int64_t>::max() - static_cast<int64_t>(1)) {
        break;
      }
      t = static_cast<int64_t>(static_cast<uint64_t>(t) + next);
    }
    RequireRoundTrip(samples);
  }
}

TEST_CASE("truncated or damaged chunks end with an error, never a crash") {
  XorChunk chunk;
  for (int i = 0; i < 120; ++i) chunk.Append(i * 15000 + (i % 7), i * 1.5);
  std::vector<uint8_t> bytes(chunk.bytes().begin(), chunk.bytes().end());
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + len);
    XorIterator it(cut);
    int n = 0;
    while (it.Next()) ++n;
    CHECK(n < 120);
    CHECK_FALSE(it.status().ok());
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> damaged = bytes;
    damaged[2 + rng() % (damaged.size() - 2)] ^=
        static_cast<uint8_t>(1 + rng() % 255);
    XorIterator it(damaged);
    while (it.Next()) {
    }
  }
}

}  // namespace
}  // namespace keel::core
