#include "core/series/internal/sealed_codec.h"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "alloc/size_classes.h"
#include "core/series/xor_chunk.h"

namespace keel::core::core_internal {
namespace {

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

constexpr uint64_t kStaleMarker = 0x7ff0000000000002ull;

// Encodes each series (in as many entries and frames as it takes), decodes
// every entry in batches of `batch` and requires every timestamp and value
// bit back. Returns the total frame bytes.
struct Series {
  std::vector<int64_t> t;
  std::vector<uint64_t> bits;
};

std::size_t RequireRoundTrip(const std::vector<Series>& series,
                             int zstd_level = 3, std::size_t batch = 100) {
  SealedFrameBuilder builder({.zstd_level = zstd_level});
  struct Piece {
    std::size_t series, at, n;
  };
  std::vector<Piece> pending;
  std::size_t total = 0;
  std::vector<int64_t> got_t(batch);
  std::vector<uint64_t> got_bits(batch);
  auto finish = [&] {
    std::vector<uint8_t> frame;
    std::vector<SealedEntry> entries;
    builder.Finish(frame, entries);
    REQUIRE(frame.size() <= 65535);
    REQUIRE(entries.size() == pending.size());
    total += frame.size();
    std::size_t shares = 0;
    SealedDecoder decoder;
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const Piece& piece = pending[k];
      const Series& s = series[piece.series];
      shares += entries[k].share;
      const uint8_t* entry = frame.data() + entries[k].offset;
      REQUIRE(entries[k].count == piece.n);
      REQUIRE(XorSampleCount({entry, 2}) == piece.n);
      REQUIRE(SealedMinTime(entry) == s.t[piece.at]);
      REQUIRE(decoder.Open(entry).ok());
      REQUIRE(decoder.count() == piece.n);
      std::size_t read = 0;
      while (std::size_t got =
                 decoder.Decode(got_t.data(), got_bits.data(), batch)) {
        for (std::size_t i = 0; i < got; ++i) {
          INFO("series " << piece.series << " sample " << piece.at + read + i);
          REQUIRE(got_t[i] == s.t[piece.at + read + i]);
          REQUIRE(got_bits[i] == s.bits[piece.at + read + i]);
        }
        read += got;
      }
      REQUIRE(decoder.status().ok());
      REQUIRE(read == piece.n);
    }
    REQUIRE(shares == frame.size());
    pending.clear();
  };
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    for (std::size_t at = 0; at < s.t.size();) {
      std::size_t n = builder.Add(std::span(s.t).subspan(at),
                                  std::span(s.bits).subspan(at));
      if (n == 0) {
        REQUIRE_FALSE(builder.empty());
        finish();
        continue;
      }
      pending.push_back({i, at, n});
      at += n;
    }
  }
  if (!builder.empty()) finish();
  return total;
}

std::size_t RequireOneRoundTrip(const std::vector<int64_t>& t,
                                const std::vector<uint64_t>& bits,
                                int zstd_level = 3, std::size_t batch = 100) {
  return RequireRoundTrip(std::vector<Series>{{t, bits}}, zstd_level, batch);
}

TEST_CASE("ToDecimal finds exact decimal forms and refuses the rest") {
  int64_t m;
  int e;
  REQUIRE(ToDecimal(Bits(0.0), m, e));
  CHECK((m == 0 && e == 0));
  REQUIRE(ToDecimal(Bits(1.5), m, e));
  CHECK((m == 15 && e == -1));
  REQUIRE(ToDecimal(Bits(0.1), m, e));
  CHECK((m == 1 && e == -1));
  REQUIRE(ToDecimal(Bits(-123456.789), m, e));
  CHECK((m == -123456789 && e == -3));
  REQUIRE(ToDecimal(Bits(1e20), m, e));
  CHECK(static_cast<double>(m) * std::pow(10.0, e) == 1e20);
  REQUIRE(ToDecimal(Bits(3.4567e-05), m, e));
  CHECK((m == 34567 && e == -9));
  // 0.1 + 0.2 needs 17 digits: more than 2^53 as a mantissa.
  CHECK_FALSE(ToDecimal(Bits(0.1 + 0.2), m, e));
  CHECK_FALSE(ToDecimal(Bits(-0.0), m, e));
  CHECK_FALSE(ToDecimal(kStaleMarker, m, e));
  CHECK_FALSE(ToDecimal(Bits(std::numeric_limits<double>::infinity()), m, e));
  CHECK_FALSE(ToDecimal(Bits(std::numeric_limits<double>::denorm_min()), m, e));
  CHECK_FALSE(ToDecimal(Bits(std::nextafter(1.0, 2.0)), m, e));
  REQUIRE(ToDecimal(Bits(M_PI), m, e));  // 16 digits still fit
  CHECK((m == 3141592653589793 && e == -15));
}

TEST_CASE("sealed blocks round-trip special values bit for bit") {
  std::vector<uint64_t> bits = {
      Bits(1.0),
      kStaleMarker,
      Bits(-0.0),
      Bits(0.0),
      Bits(std::numeric_limits<double>::infinity()),
      Bits(-std::numeric_limits<double>::infinity()),
      Bits(std::numeric_limits<double>::quiet_NaN()),
      0x7ff8dead0000beefull,  // a NaN payload
      0xfff0000000000001ull,  // a negative signalling NaN
      Bits(std::numeric_limits<double>::denorm_min()),
      Bits(std::numeric_limits<double>::min()),
      Bits(std::numeric_limits<double>::max()),
      Bits(std::numeric_limits<double>::lowest()),
      Bits(0.1 + 0.2),
      Bits(9007199254740993.0),
      Bits(1e22),
      Bits(1e23),
      Bits(2.5),
  };
  std::vector<int64_t> t;
  for (std::size_t i = 0; i < bits.size(); ++i) {
    t.push_back(1700000000000 + 1000 * static_cast<int64_t>(i));
  }
  RequireOneRoundTrip(t, bits);
  RequireOneRoundTrip(t, bits, /*zstd_level=*/0);
}

TEST_CASE("sealed blocks round-trip one sample and extreme timestamps") {
  RequireOneRoundTrip({42}, {Bits(7.0)});
  RequireOneRoundTrip({-5}, {kStaleMarker});
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  RequireOneRoundTrip({kMin, -1, 0, kMax},
                      {Bits(1), Bits(2), Bits(3), Bits(4)});
  RequireOneRoundTrip({kMin, kMax}, {Bits(-1.5), Bits(1e300)});
}

TEST_CASE("sealed blocks round-trip irregular timestamps and mixed values") {
  std::mt19937_64 rng(18);
  std::vector<Series> all;
  for (int round = 0; round < 50; ++round) {
    std::size_t n = 1 + rng() % 3000;
    std::vector<int64_t> t(n);
    std::vector<uint64_t> bits(n);
    int64_t now = static_cast<int64_t>(rng() % 2000000000000) - 1000000000000;
    double counter = 0;
    for (std::size_t i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0:
          now += 1000;
          break;
        case 1:
          now += 1000 + static_cast<int64_t>(rng() % 7) - 3;
          break;
        case 2:
          now += 1 + static_cast<int64_t>(rng() % 100000);
          break;
        default:
          now += 15000;
      }
      t[i] = now;
      switch (round % 5) {
        case 0:  // a counter of hundredths
          counter += static_cast<double>(rng() % 500) / 100;
          bits[i] = Bits(counter);
          break;
        case 1:  // noise: XOR mode
          bits[i] = Bits(std::ldexp(static_cast<double>(rng() >> 11), -40));
          break;
        case 2:  // mostly decimal, a few raw
          bits[i] = rng() % 50 == 0
                        ? rng()
                        : Bits(static_cast<double>(rng() % 1000) / 8);
          break;
        case 3:  // constants with stale markers
          bits[i] = rng() % 300 == 0 ? kStaleMarker : Bits(1.0);
          break;
        default:  // anything at all
          bits[i] = rng();
      }
    }
    RequireOneRoundTrip(t, bits, round % 2 == 0 ? 3 : 0, 1 + rng() % 300);
    all.push_back({t, bits});
  }
  // The same series, many to a frame.
  RequireRoundTrip(all, 3, 128);
  RequireRoundTrip(all, 0, 77);
}

TEST_CASE("a sample run too long for one frame splits into several") {
  std::size_t n = 200000;
  std::vector<int64_t> t(n);
  std::vector<uint64_t> bits(n);
  std::mt19937_64 rng(7);
  for (std::size_t i = 0; i < n; ++i) {
    t[i] = static_cast<int64_t>(i) * 1000 + static_cast<int64_t>(rng() % 5);
    bits[i] = rng();  // 8 bytes a value: the payload bound splits first
  }
  SealedFrameBuilder builder;
  std::size_t first = builder.Add(t, bits);
  CHECK(first < kSealedMaxSamples);
  CHECK(builder.Add(t, bits) == 0);  // full: one entry filled it
  RequireOneRoundTrip(t, bits);
}

TEST_CASE("regular series cost a fraction of their XOR chunks") {
  // A 1 s counter of hundredths and a constant: the sealed block must beat
  // the XOR chunks holding the same samples, or the encoding does not pay.
  std::vector<int64_t> t(7200);
  std::vector<uint64_t> counter(7200);
  std::vector<uint64_t> constant(7200, Bits(1.0));
  double c = 1000;
  XorChunk xor_counter;
  for (std::size_t i = 0; i < t.size(); ++i) {
    t[i] = 1700000000000 + 1000 * static_cast<int64_t>(i);
    c += static_cast<double>(i % 7) / 100;
    counter[i] = Bits(c);
    if (i < 120) xor_counter.Append(t[i], c);
  }
  double xor_per_sample = static_cast<double>(xor_counter.bytes().size()) / 120;
  double sealed_per_sample =
      static_cast<double>(RequireOneRoundTrip(t, counter)) / 7200;
  CHECK(sealed_per_sample < xor_per_sample / 2);
  CHECK(RequireOneRoundTrip(t, constant) < 7200 / 50);
}

// The buffers' sums, in increasing order, and the sum of their footprints
// (size class and a large class's page of padding).
struct Packed {
  std::vector<std::size_t> buffers;
  std::size_t held = 0;
};

Packed RequirePacking(const std::vector<std::size_t>& sizes) {
  std::vector<uint32_t> in = PackSealedFrames(sizes);
  REQUIRE(in.size() == sizes.size());
  Packed out;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    if (in[k] >= out.buffers.size()) out.buffers.resize(in[k] + 1, 0);
    out.buffers[in[k]] += sizes[k];
  }
  for (std::size_t b : out.buffers) REQUIRE(b > 0);  // numbered with no gap
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    // Only a frame larger than a buffer has one to itself past the limit.
    if (out.buffers[in[k]] > kSealedBufferBytes) {
      REQUIRE(out.buffers[in[k]] == sizes[k]);
    }
  }
  for (std::size_t b : out.buffers) {
    out.held += alloc::SizeClasses::Get().Footprint(b);
  }
  std::sort(out.buffers.begin(), out.buffers.end());
  return out;
}

TEST_CASE("frames pack into buffers that fill their size classes") {
  // The frames of one window of a real capture (300 s windows, zstd level
  // 6): first fit by decreasing size puts them in one buffer of 60,767
  // bytes, which holds 64 KiB and a page.
  std::vector<std::size_t> sizes = {22832, 15452, 14279, 4782, 3422};
  Packed packed = RequirePacking(sizes);
  CHECK(packed.held <= 65536 + 4096);
  CHECK(packed.held - (22832 + 15452 + 14279 + 4782 + 3422) < 2048 + 4096);

  // Many frames: no worse than first fit, and the same buffers whatever
  // the order the frames come in (a snapshot lists them in its own).
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> size(200, 40000);
  sizes.clear();
  for (int k = 0; k < 300; ++k) sizes.push_back(size(rng));
  sizes.push_back(kSealedBufferBytes + 100);  // one larger than a buffer
  Packed first = RequirePacking(sizes);
  std::vector<std::size_t> sorted = sizes;
  std::sort(sorted.rbegin(), sorted.rend());
  std::vector<std::size_t> first_fit;
  for (std::size_t s : sorted) {
    auto b = std::find_if(first_fit.begin(), first_fit.end(),
                          [&](auto u) { return u + s <= kSealedBufferBytes; });
    if (b == first_fit.end()) b = first_fit.insert(first_fit.end(), 0);
    *b += s;
  }
  std::size_t first_fit_held = 0;
  for (std::size_t b : first_fit) {
    first_fit_held += alloc::SizeClasses::Get().Footprint(b);
  }
  CHECK(first.held <= first_fit_held);
  std::shuffle(sizes.begin(), sizes.end(), rng);
  Packed again = RequirePacking(sizes);
  CHECK(again.buffers == first.buffers);
  CHECK(again.held == first.held);
}

TEST_CASE("the frame cache tells apart frames at the same address") {
  std::vector<int64_t> t = {1000, 2000, 3000};
  std::vector<uint8_t> frames[2];
  std::vector<SealedEntry> entries;
  for (int k = 0; k < 2; ++k) {
    SealedFrameBuilder builder;
    std::vector<uint64_t> bits(3, Bits(k + 0.5));
    // Several series, so that the payload compresses.
    for (int s = 0; s < 20; ++s) REQUIRE(builder.Add(t, bits) == 3);
    builder.Finish(frames[k], entries);
    REQUIRE(frames[0].size() == frames[k].size());
  }
  REQUIRE((frames[0][0] & 1) == 1);  // zstd: the cache is used
  std::vector<uint8_t> memory = frames[0];
  SealedDecoder decoder;
  int64_t got_t[3];
  uint64_t got_bits[3];
  for (int k : {0, 1, 0}) {
    std::copy(frames[k].begin(), frames[k].end(), memory.begin());
    REQUIRE(decoder.Open(memory.data() + entries[5].offset).ok());
    REQUIRE(decoder.Decode(got_t, got_bits, 3) == 3);
    CHECK(got_bits[2] == Bits(k + 0.5));
  }
}

}  // namespace
}  // namespace keel::core::core_internal
