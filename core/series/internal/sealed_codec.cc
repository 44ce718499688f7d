#include "core/series/internal/sealed_codec.h"

// The magicless frame format (4 bytes less a block) is an advanced
// parameter, set through the stable ZSTD_CCtx_setParameter.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/series/internal/sealed_format.h"
#include "core/series/internal/sealed_varint.h"

namespace keel::core::core_internal {
namespace {

constexpr int64_t kMaxMantissa = int64_t{1} << 53;

double FromDecimal(int64_t m, int e) {
  return e >= 0 ? static_cast<double>(m) * kSealedPow10[e]
                : static_cast<double>(m) / kSealedPow10[-e];
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
  uint8_t mode = kSealedValueXor;
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

void EncodeValues(std::span<const uint64_t> bits, std::vector<uint8_t>& values);

// The timestamp and value sections of one entry (layout in sealed_codec.h).
void EncodeSections(std::span<const int64_t> t, std::span<const uint64_t> bits,
                    std::vector<uint8_t>& ts, std::vector<uint8_t>& values) {
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
  // Each shape's entries: d_i - D; d_i - d_(i-1); t_i - (t_0 + i * D).
  std::size_t size[3] = {0, 0, 0};
  uint64_t prev = interval;
  uint64_t grid = static_cast<uint64_t>(t[0]);
  bool on_grid = true;
  for (std::size_t i = 1; i < n; ++i) {
    uint64_t d = deltas[i - 1];
    grid += interval;
    size[kSealedTsFromInterval] += UvarintBytes(ZigZag(d - interval));
    size[kSealedTsDeltaOfDelta] += UvarintBytes(ZigZag(d - prev));
    size[kSealedTsFromGrid] +=
        UvarintBytes(ZigZag(static_cast<uint64_t>(t[i]) - grid));
    on_grid &= static_cast<uint64_t>(t[i]) == grid;
    prev = d;
  }
  uint8_t ts_mode =
      static_cast<uint8_t>(std::min_element(size, size + 3) - size);
  ts.clear();
  PutUvarint(ts, interval);
  if (on_grid) {
    ts.push_back(kSealedTsRegular);
    return EncodeValues(bits, values);
  }
  ts.push_back(ts_mode);
  ts.push_back(0);  // sample 0's entry (see SealedDecoder::Open)
  prev = interval;
  grid = static_cast<uint64_t>(t[0]);
  for (std::size_t i = 1; i < n; ++i) {
    uint64_t d = deltas[i - 1];
    grid += interval;
    switch (ts_mode) {
      case kSealedTsFromInterval:
        PutUvarint(ts, ZigZag(d - interval));
        break;
      case kSealedTsDeltaOfDelta:
        PutUvarint(ts, ZigZag(d - prev));
        break;
      default:
        PutUvarint(ts, ZigZag(static_cast<uint64_t>(t[i]) - grid));
    }
    prev = d;
  }
  EncodeValues(bits, values);
}

// The value section of one entry.
void EncodeValues(std::span<const uint64_t> bits,
                  std::vector<uint8_t>& values) {
  const std::size_t n = bits.size();
  // Values: each one's decimal form, then the exponents worth trying: the
  // finest any value needs, and the most common one.
  std::vector<int64_t> m(n);
  std::vector<int8_t> e(n);
  int finest = INT32_MAX;
  int counts[2 * kSealedMaxExponent + 1] = {};
  for (std::size_t i = 0; i < n; ++i) {
    int exponent;
    if (ToDecimal(bits[i], m[i], exponent)) {
      e[i] = static_cast<int8_t>(exponent);
      finest = std::min(finest, exponent);
      ++counts[exponent + kSealedMaxExponent];
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
            std::max_element(counts, counts + 2 * kSealedMaxExponent + 1) -
            counts) -
        kSealedMaxExponent;
    for (int exponent : {finest, common}) {
      Mantissas(bits, m, e, exponent, mantissas, exceptions);
      for (bool dod_values : {false, true}) {
        std::size_t bytes = 2 + ZigZagStreamBytes(mantissas, dod_values) +
                            10 * exceptions.size();
        if (bytes < plan.bytes) {
          plan = {dod_values ? kSealedValueDeltaOfDelta : kSealedValueDelta,
                  exponent, bytes};
          best_mantissas = mantissas;
          best_exceptions = exceptions;
        }
      }
      if (exponent == common) break;
    }
  }
  values.clear();
  values.push_back(plan.mode);
  if (plan.mode == kSealedValueXor) {
    PutUvarint(values, 0);
    uint64_t last = 0;
    for (uint64_t b : bits) {
      PutLE64(values, b ^ last);
      last = b;
    }
    return;
  }
  PutUvarint(values, ZigZag(static_cast<uint64_t>(int64_t{plan.exponent})));
  PutUvarint(values, best_exceptions.size());
  uint32_t last = 0;
  for (uint32_t i : best_exceptions) {
    PutUvarint(values, i - last);
    PutLE64(values, bits[i]);
    last = i;
  }
  if (std::all_of(best_mantissas.begin(), best_mantissas.end(),
                  [&](uint64_t m) { return m == best_mantissas[0]; })) {
    values[0] = kSealedValueConstant;
    PutUvarint(values, ZigZag(best_mantissas[0]));
    return;
  }
  PutSection(values, best_mantissas, plan.mode == kSealedValueDeltaOfDelta);
}

// Frame ids start at 1: 0 is the decode cache's "none".
std::atomic<uint64_t> next_frame_id{1};

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
    for (int k = 0; k <= kSealedMaxExponent; ++k) {
      double x = v * kSealedPow10[k];
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
  for (int k = 1; k <= kSealedMaxExponent; ++k) {
    double r = std::nearbyint(v / kSealedPow10[k]);
    if (Exact(r, k, bits)) {
      mantissa = static_cast<int64_t>(r);
      exponent = k;
      return true;
    }
  }
  return false;
}

SealedFrameBuilder::SealedFrameBuilder(const SealedEncodeOptions& options)
    : options_(options) {}

SealedFrameBuilder::~SealedFrameBuilder() = default;

void SealedFrameBuilder::FreeContext::operator()(ZSTD_CCtx_s* c) const {
  ZSTD_freeCCtx(c);
}

ZSTD_CCtx_s* SealedFrameBuilder::Context() {
  if (context_ == nullptr) {
    context_.reset(ZSTD_createCCtx());
    ZSTD_CCtx* c = context_.get();
    ZSTD_CCtx_setParameter(c, ZSTD_c_format, ZSTD_f_zstd1_magicless);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, options_.zstd_level);
  }
  return context_.get();
}

std::size_t SealedFrameBuilder::Add(std::span<const int64_t> t,
                                    std::span<const uint64_t> bits) {
  if (entries_.size() >= kSealedMaxEntries) return 0;
  std::size_t n = std::min(t.size(), kSealedMaxSamples);
  for (;;) {
    EncodeSections(t.first(n), bits.first(n), ts_piece_, value_piece_);
    std::size_t raw = ts_piece_.size() + value_piece_.size();
    if (ts_.size() + values_.size() + raw <= kSealedMaxFrameRaw) break;
    if (!entries_.empty()) return 0;
    if (n == 1) break;  // one sample always fits: at most 32 bytes
    n /= 2;
  }
  entries_.push_back({t[0], static_cast<uint32_t>(n),
                      static_cast<uint32_t>(ts_piece_.size()),
                      static_cast<uint32_t>(value_piece_.size())});
  ts_.insert(ts_.end(), ts_piece_.begin(), ts_piece_.end());
  values_.insert(values_.end(), value_piece_.begin(), value_piece_.end());
  return n;
}

void SealedFrameBuilder::Finish(std::vector<uint8_t>& frame,
                                std::vector<SealedEntry>& entries) {
  frame.assign(kSealedFrameHeader, 0);
  entries.clear();
  const int64_t base = entries_.empty() ? 0 : entries_[0].t0;
  for (const Entry& e : entries_) {
    auto offset = static_cast<uint32_t>(frame.size());
    entries.push_back({offset, 0, e.count});
    frame.push_back(static_cast<uint8_t>(e.count >> 8));
    frame.push_back(static_cast<uint8_t>(e.count));
    PutUvarint(frame, offset);
    PutUvarint(frame, ZigZag(static_cast<uint64_t>(e.t0) -
                             static_cast<uint64_t>(base)));
    PutUvarint(frame, e.ts_bytes);
    PutUvarint(frame, e.value_bytes);
  }
  std::vector<uint8_t> raw = std::move(ts_);
  PutU32(frame.data() + 31, static_cast<uint32_t>(frame.size()));
  raw.insert(raw.end(), values_.begin(), values_.end());
  uint8_t flags = 0;
  std::size_t payload_at = frame.size();
  if (options_.zstd_level > 0 && !raw.empty()) {
    std::size_t bound = ZSTD_compressBound(raw.size());
    frame.resize(payload_at + bound);
    std::size_t size = ZSTD_compress2(Context(), frame.data() + payload_at,
                                      bound, raw.data(), raw.size());
    if (!ZSTD_isError(size) && size < raw.size()) {
      flags = kSealedFlagZstd;
      frame.resize(payload_at + size);
    } else {
      frame.resize(payload_at);
    }
  }
  if (flags == 0) frame.insert(frame.end(), raw.begin(), raw.end());
  std::size_t ts_total = raw.size() - values_.size();
  frame[0] = flags;
  frame[1] = static_cast<uint8_t>(entries_.size());
  frame[2] = static_cast<uint8_t>(entries_.size() >> 8);
  PutU32(frame.data() + 3, static_cast<uint32_t>(raw.size()));
  PutU32(frame.data() + 7, static_cast<uint32_t>(frame.size() - payload_at));
  PutU32(frame.data() + 11, static_cast<uint32_t>(ts_total));
  PutU64(frame.data() + 15,
         next_frame_id.fetch_add(1, std::memory_order_relaxed));
  PutI64(frame.data() + 23, base);
  // Each entry's share of the frame, by its raw bytes, so that the shares
  // add up to the frame: what dropping the entries gives back.
  uint64_t raw_total = std::max<uint64_t>(1, raw.size());
  uint64_t given = 0;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    uint64_t share =
        k + 1 == entries.size()
            ? frame.size() - given
            : frame.size() * (entries_[k].ts_bytes + entries_[k].value_bytes) /
                  raw_total;
    share = std::max<uint64_t>(share, 1);
    entries[k].share = static_cast<uint32_t>(share);
    given += share;
  }
  entries_.clear();
  ts_.clear();
  values_.clear();
}

void RenumberSealedFrame(std::span<uint8_t> frame) {
  PutU64(frame.data() + 15,
         next_frame_id.fetch_add(1, std::memory_order_relaxed));
}

int64_t SealedMinTime(const uint8_t* entry) {
  const uint8_t* p = entry + 2;
  uint64_t back = ReadUvarint(p);
  uint64_t delta = UnZigZag(ReadUvarint(p));
  return static_cast<int64_t>(static_cast<uint64_t>(GetI64(entry - back + 23)) +
                              delta);
}
}  // namespace keel::core::core_internal
