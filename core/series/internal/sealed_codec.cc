#include "core/series/internal/sealed_codec.h"

// The magicless frame format (4 bytes less a block) is an advanced
// parameter, set through the stable ZSTD_CCtx_setParameter.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/series/internal/sealed_varint.h"

namespace keel::core::core_internal {
namespace {

constexpr uint8_t kFlagZstd = 1;
constexpr uint8_t kTsFromInterval = 0;
constexpr uint8_t kTsDeltaOfDelta = 1;
constexpr uint8_t kValueDelta = 0;
constexpr uint8_t kValueDeltaOfDelta = 1;
constexpr uint8_t kValueXor = 2;
constexpr int kMaxExponent = 22;  // 10^22 is the largest exact power of ten
constexpr int64_t kMaxMantissa = int64_t{1} << 53;

constexpr double kPow10[kMaxExponent + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

double FromDecimal(int64_t m, int e) {
  return e >= 0 ? static_cast<double>(m) * kPow10[e]
                : static_cast<double>(m) / kPow10[-e];
}

// Whether m (checked for range) at exponent e is exactly `bits`.
bool Exact(double m, int e, uint64_t bits) {
  if (!(std::fabs(m) <= static_cast<double>(kMaxMantissa))) return false;
  return std::bit_cast<uint64_t>(FromDecimal(static_cast<int64_t>(m), e)) ==
         bits;
}

// Picks the stream shapes and the exponent that make a block smallest
// before compression.
struct ValuePlan {
  uint8_t mode = kValueXor;
  int exponent = 0;
  std::size_t bytes = 0;  // value section plus exceptions, estimated
};

std::size_t ZigZagStreamBytes(std::span<const uint64_t> m, bool dod) {
  std::size_t bytes = 0;
  uint64_t prev = 0;
  uint64_t prev_delta = 0;
  for (uint64_t x : m) {
    uint64_t delta = x - prev;
    bytes += UvarintBytes(ZigZag(dod ? delta - prev_delta : delta));
    prev = x;
    prev_delta = delta;
  }
  return bytes;
}

// Mantissas under `exponent`: entries that do not convert repeat the
// previous mantissa and are listed in `exceptions`.
void Mantissas(std::span<const uint64_t> bits, std::span<const int64_t> m,
               std::span<const int8_t> e, int exponent,
               std::vector<uint64_t>& out, std::vector<uint32_t>& exceptions) {
  out.resize(bits.size());
  exceptions.clear();
  uint64_t prev = 0;
  for (std::size_t i = 0; i < bits.size(); ++i) {
    bool ok = e[i] != INT8_MIN && e[i] >= exponent;
    if (ok) {
      int64_t x = m[i];
      for (int k = e[i]; ok && k > exponent; --k) {
        ok = x <= kMaxMantissa / 10 && x >= -kMaxMantissa / 10;
        x *= 10;
      }
      if (ok) ok = Exact(static_cast<double>(x), exponent, bits[i]);
      if (ok) prev = static_cast<uint64_t>(x);
    }
    if (!ok) exceptions.push_back(static_cast<uint32_t>(i));
    out[i] = prev;
  }
}

void PutSection(std::vector<uint8_t>& out, std::span<const uint64_t> m,
                bool dod) {
  uint64_t prev = 0;
  uint64_t prev_delta = 0;
  for (uint64_t x : m) {
    uint64_t delta = x - prev;
    PutUvarint(out, ZigZag(dod ? delta - prev_delta : delta));
    prev = x;
    prev_delta = delta;
  }
}

struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZstdContexts() {
    ZSTD_CCtx_setParameter(c, ZSTD_c_format, ZSTD_f_zstd1_magicless);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0);
    ZSTD_DCtx_setParameter(d, ZSTD_d_format, ZSTD_f_zstd1_magicless);
  }
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

// One context pair a thread: a context is a few hundred KiB, too much for
// each reader, and every use is one whole call.
ZstdContexts& Zstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

// The body of a block of all of `t` and `bits` (the caller checks its size).
void EncodeBody(std::span<const int64_t> t, std::span<const uint64_t> bits,
                std::vector<uint8_t>& body) {
  const std::size_t n = t.size();
  // Timestamps: the interval is the median delta, robust to jitter and gaps.
  std::vector<uint64_t> deltas(n > 0 ? n - 1 : 0);
  for (std::size_t i = 1; i < n; ++i) {
    deltas[i - 1] =
        static_cast<uint64_t>(t[i]) - static_cast<uint64_t>(t[i - 1]);
  }
  uint64_t interval = 0;
  if (!deltas.empty()) {
    std::vector<uint64_t> sorted = deltas;
    auto mid = sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2);
    std::nth_element(sorted.begin(), mid, sorted.end());
    interval = *mid;
  }
  std::size_t from_interval = 0;
  std::size_t dod = 0;
  uint64_t prev = interval;
  for (uint64_t d : deltas) {
    from_interval += UvarintBytes(ZigZag(d - interval));
    dod += UvarintBytes(ZigZag(d - prev));
    prev = d;
  }
  std::vector<uint8_t> ts;
  PutUvarint(ts, interval);
  uint8_t ts_mode = dod < from_interval ? kTsDeltaOfDelta : kTsFromInterval;
  ts.push_back(ts_mode);
  ts.push_back(0);  // sample 0's entry (see SealedDecoder::Open)
  prev = interval;
  for (uint64_t d : deltas) {
    PutUvarint(ts, ZigZag(d - (ts_mode == kTsFromInterval ? interval : prev)));
    prev = d;
  }

  // Values: each one's decimal form, then the exponents worth trying: the
  // finest any value needs, and the most common one.
  std::vector<int64_t> m(n);
  std::vector<int8_t> e(n);
  int finest = INT32_MAX;
  int counts[2 * kMaxExponent + 1] = {};
  for (std::size_t i = 0; i < n; ++i) {
    int exponent;
    if (ToDecimal(bits[i], m[i], exponent)) {
      e[i] = static_cast<int8_t>(exponent);
      finest = std::min(finest, exponent);
      ++counts[exponent + kMaxExponent];
    } else {
      e[i] = INT8_MIN;
    }
  }
  ValuePlan plan;
  plan.bytes = 8 * n;
  std::vector<uint64_t> mantissas;
  std::vector<uint32_t> exceptions;
  std::vector<uint64_t> best_mantissas;
  std::vector<uint32_t> best_exceptions;
  if (finest != INT32_MAX) {
    int common =
        static_cast<int>(
            std::max_element(counts, counts + 2 * kMaxExponent + 1) - counts) -
        kMaxExponent;
    for (int exponent : {finest, common}) {
      Mantissas(bits, m, e, exponent, mantissas, exceptions);
      for (bool dod_values : {false, true}) {
        std::size_t bytes = 2 + ZigZagStreamBytes(mantissas, dod_values) +
                            10 * exceptions.size();
        if (bytes < plan.bytes) {
          plan = {dod_values ? kValueDeltaOfDelta : kValueDelta, exponent,
                  bytes};
          best_mantissas = mantissas;
          best_exceptions = exceptions;
        }
      }
      if (exponent == common) break;
    }
  }
  std::vector<uint8_t> values;
  std::vector<uint8_t> exc;
  values.push_back(plan.mode);
  if (plan.mode == kValueXor) {
    uint64_t last = 0;
    for (uint64_t b : bits) {
      PutLE64(values, b ^ last);
      last = b;
    }
    PutUvarint(exc, 0);
  } else {
    PutUvarint(values, ZigZag(static_cast<uint64_t>(int64_t{plan.exponent})));
    PutSection(values, best_mantissas, plan.mode == kValueDeltaOfDelta);
    PutUvarint(exc, best_exceptions.size());
    uint32_t last = 0;
    for (uint32_t i : best_exceptions) {
      PutUvarint(exc, i - last);
      PutLE64(exc, bits[i]);
      last = i;
    }
  }
  body.clear();
  PutUvarint(body, ts.size());
  PutUvarint(body, values.size());
  body.insert(body.end(), ts.begin(), ts.end());
  body.insert(body.end(), values.begin(), values.end());
  body.insert(body.end(), exc.begin(), exc.end());
}

}  // namespace

bool ToDecimal(uint64_t bits, int64_t& mantissa, int& exponent) {
  double v = std::bit_cast<double>(bits);
  if (!std::isfinite(v)) return false;
  if (bits == 0) {
    mantissa = 0;
    exponent = 0;
    return true;
  }
  if (v == 0) return false;  // -0 has no mantissa of its own
  if (std::fabs(v) <= static_cast<double>(kMaxMantissa)) {
    for (int k = 0; k <= kMaxExponent; ++k) {
      double x = v * kPow10[k];
      if (!(std::fabs(x) <= static_cast<double>(kMaxMantissa) + 1)) break;
      double r = std::nearbyint(x);
      // Near 2^53 the scaled value itself may have rounded by one.
      for (double c : {r, r - 1, r + 1}) {
        if (Exact(c, -k, bits)) {
          mantissa = static_cast<int64_t>(c);
          exponent = -k;
          return true;
        }
        if (std::fabs(x) < 0x1p51) break;
      }
    }
    return false;
  }
  for (int k = 1; k <= kMaxExponent; ++k) {
    double r = std::nearbyint(v / kPow10[k]);
    if (Exact(r, k, bits)) {
      mantissa = static_cast<int64_t>(r);
      exponent = k;
      return true;
    }
  }
  return false;
}

std::size_t EncodeSealed(std::span<const int64_t> t,
                         std::span<const uint64_t> bits,
                         std::vector<uint8_t>& out,
                         const SealedEncodeOptions& options) {
  std::size_t n = std::min(t.size(), kSealedMaxSamples);
  std::vector<uint8_t> body;
  for (;;) {
    EncodeBody(t.first(n), bits.first(n), body);
    if (body.size() <= kSealedMaxBody || n == 1) break;
    n /= 2;
  }
  out.push_back(static_cast<uint8_t>(n >> 8));
  out.push_back(static_cast<uint8_t>(n));
  PutUvarint(out, ZigZag(static_cast<uint64_t>(t[0])));
  std::size_t flags_at = out.size();
  out.push_back(0);
  if (options.zstd_level > 0) {
    std::size_t bound = ZSTD_compressBound(body.size());
    std::vector<uint8_t> packed(bound);
    ZstdContexts& z = Zstd();
    ZSTD_CCtx_setParameter(z.c, ZSTD_c_compressionLevel, options.zstd_level);
    std::size_t size =
        ZSTD_compress2(z.c, packed.data(), bound, body.data(), body.size());
    if (!ZSTD_isError(size) && size + UvarintBytes(body.size()) < body.size()) {
      out[flags_at] = kFlagZstd;
      PutUvarint(out, body.size());
      out.insert(out.end(), packed.begin(),
                 packed.begin() + static_cast<std::ptrdiff_t>(size));
      return n;
    }
  }
  out.insert(out.end(), body.begin(), body.end());
  return n;
}

}  // namespace keel::core::core_internal
