// SealedDecoder: reads a sealed block (layout in sealed_codec.h) a batch at a
// time. The body is decompressed into a buffer padded past its end, so a
// batch decodes without a bound check per varint; each batch then checks
// that no section ran past its end.
// The magicless frame format (4 bytes less a block) is an advanced
// parameter, set through the stable ZSTD_CCtx_setParameter.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/internal/sealed_varint.h"

namespace keel::core::core_internal {
namespace {

constexpr uint8_t kFlagZstd = 1;
constexpr int kMaxExponent = 22;
constexpr std::size_t kBatch = 256;
// A batch reads at most 10 bytes a sample of a section; a malformed section
// may run that far past its end before the check after the batch.
constexpr std::size_t kPadding = 10 * kBatch + 16;

constexpr double kPow10[kMaxExponent + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

ZSTD_DCtx* DecompressionContext() {
  struct Context {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    Context() {
      ZSTD_DCtx_setParameter(d, ZSTD_d_format, ZSTD_f_zstd1_magicless);
    }
    ~Context() { ZSTD_freeDCtx(d); }
  };
  // One a thread: a context is large, and each use is one whole call.
  thread_local Context context;
  return context.d;
}

// Reads a uvarint from [p, end); false if it does not end inside.
bool ReadBounded(const uint8_t*& p, const uint8_t* end, uint64_t& x) {
  x = 0;
  for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
    uint8_t b = *p++;
    x |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) return true;
  }
  return false;
}

// The decode loop of one batch, specialised for the block's shapes.
// kValue: 0 decimal deltas, 1 decimal delta-of-deltas, 2 XOR.
template <bool kDod, int kValue, bool kDivide>
void DecodeBatch(const uint8_t*& ts, const uint8_t*& val, int64_t& t,
                 uint64_t interval, uint64_t& delta, uint64_t& m,
                 uint64_t& m_delta, double scale, std::size_t n, int64_t* out_t,
                 uint64_t* out_bits) {
  for (std::size_t i = 0; i < n; ++i) {
    uint64_t r = UnZigZag(ReadUvarint(ts));
    delta = (kDod ? delta : interval) + r;
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + delta);
    out_t[i] = t;
    if constexpr (kValue == 2) {
      m ^= GetU64(val);
      val += 8;
      out_bits[i] = m;
    } else {
      uint64_t s = UnZigZag(ReadUvarint(val));
      if constexpr (kValue == 1) {
        m_delta += s;
        m += m_delta;
      } else {
        m += s;
      }
      double x = static_cast<double>(static_cast<int64_t>(m));
      out_bits[i] = std::bit_cast<uint64_t>(kDivide ? x / scale : x * scale);
    }
  }
}

using BatchFn = void (*)(const uint8_t*&, const uint8_t*&, int64_t&, uint64_t,
                         uint64_t&, uint64_t&, uint64_t&, double, std::size_t,
                         int64_t*, uint64_t*);

template <bool kDod>
BatchFn Pick(int value_mode, bool divide) {
  switch (value_mode) {
    case 0:
      return divide ? DecodeBatch<kDod, 0, true> : DecodeBatch<kDod, 0, false>;
    case 1:
      return divide ? DecodeBatch<kDod, 1, true> : DecodeBatch<kDod, 1, false>;
    default:
      return DecodeBatch<kDod, 2, false>;
  }
}

}  // namespace

absl::Status SealedDecoder::Open(std::span<const uint8_t> block) {
  status_ = absl::OkStatus();
  count_ = read_ = 0;
  auto bad = [&](const char* what) {
    count_ = read_ = 0;
    status_ = absl::DataLossError(absl::StrCat("sealed block of ", block.size(),
                                               " bytes: ", what, " malformed"));
    return status_;
  };
  if (block.size() < 4) return bad("header");
  count_ = static_cast<uint32_t>(block[0] << 8 | block[1]);
  const uint8_t* p = block.data() + 2;
  const uint8_t* end = block.data() + block.size();
  uint64_t x;
  if (count_ == 0 || !ReadBounded(p, end, x) || p >= end) {
    return bad("header");
  }
  t_ = static_cast<int64_t>(UnZigZag(x));
  uint8_t flags = *p++;
  if ((flags & ~kFlagZstd) != 0) return bad("flags");
  std::size_t body_bytes;
  if (flags & kFlagZstd) {
    if (!ReadBounded(p, end, x) || x > kSealedMaxBody) return bad("body size");
    body_bytes = x;
    body_.resize(body_bytes + kPadding);
    std::size_t got =
        ZSTD_decompressDCtx(DecompressionContext(), body_.data(), body_bytes, p,
                            static_cast<std::size_t>(end - p));
    if (ZSTD_isError(got) || got != body_bytes) return bad("zstd body");
  } else {
    body_bytes = static_cast<std::size_t>(end - p);
    if (body_bytes > kSealedMaxBody) return bad("body size");
    body_.resize(body_bytes + kPadding);
    std::copy(p, end, body_.begin());
  }
  std::fill(body_.begin() + static_cast<std::ptrdiff_t>(body_bytes),
            body_.end(), 0);
  const uint8_t* b = body_.data();
  const uint8_t* body_end = b + body_bytes;
  uint64_t ts_bytes;
  uint64_t value_bytes;
  if (!ReadBounded(b, body_end, ts_bytes) ||
      !ReadBounded(b, body_end, value_bytes) ||
      ts_bytes > static_cast<uint64_t>(body_end - b) ||
      value_bytes > static_cast<uint64_t>(body_end - b) - ts_bytes) {
    return bad("section sizes");
  }
  ts_ = b;
  ts_end_ = b + ts_bytes;
  val_ = ts_end_;
  val_end_ = val_ + value_bytes;
  exc_ = val_end_;
  exc_end_ = body_end;
  if (!ReadBounded(ts_, ts_end_, interval_) || ts_ >= ts_end_ || *ts_ > 1) {
    return bad("timestamp section header");
  }
  ts_mode_ = *ts_++;
  // Sample 0's timestamp entry is 0: stepping back one interval first lets
  // the batch loop treat it like every other.
  delta_ = interval_;
  t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) - interval_);
  if (val_ >= val_end_ || *val_ > 2) return bad("value section header");
  value_mode_ = *val_++;
  exponent_ = 0;
  if (value_mode_ != 2) {
    if (!ReadBounded(val_, val_end_, x)) return bad("value exponent");
    auto e = static_cast<int64_t>(UnZigZag(x));
    if (e < -kMaxExponent || e > kMaxExponent) return bad("value exponent");
    exponent_ = static_cast<int>(e);
  }
  if (!ReadBounded(exc_, exc_end_, x) || x > count_) return bad("exceptions");
  exceptions_left_ = static_cast<uint32_t>(x);
  next_exception_ = 0;
  if (exceptions_left_ > 0) {
    if (!ReadBounded(exc_, exc_end_, next_exception_)) return bad("exceptions");
  }
  m_ = 0;
  m_delta_ = 0;
  return status_;
}

std::size_t SealedDecoder::Decode(int64_t* t, uint64_t* bits, std::size_t max) {
  std::size_t todo = std::min<std::size_t>(max, count_ - read_);
  std::size_t done = 0;
  const bool divide = exponent_ < 0;
  const double scale = kPow10[divide ? -exponent_ : exponent_];
  BatchFn batch = ts_mode_ == 1 ? Pick<true>(value_mode_, divide)
                                : Pick<false>(value_mode_, divide);
  while (done < todo) {
    std::size_t n = std::min(kBatch, todo - done);
    std::size_t first = read_;
    batch(ts_, val_, t_, interval_, delta_, m_, m_delta_, scale, n, t + done,
          bits + done);
    read_ += static_cast<uint32_t>(n);
    if (ts_ > ts_end_ || val_ > val_end_) {
      Fail("section overrun");
      return done;
    }
    // Exceptions in this batch replace the decoded values.
    while (exceptions_left_ > 0 && next_exception_ < read_) {
      if (next_exception_ < first || exc_end_ - exc_ < 8) {
        Fail("exception list");
        return done;
      }
      bits[done + (next_exception_ - first)] = GetU64(exc_);
      exc_ += 8;
      if (--exceptions_left_ > 0) {
        uint64_t gap;
        if (!ReadBounded(exc_, exc_end_, gap) || gap == 0) {
          Fail("exception list");
          return done;
        }
        next_exception_ += gap;
      }
    }
    done += n;
  }
  return done;
}

void SealedDecoder::Fail(const char* what) {
  if (status_.ok()) {
    status_ = absl::DataLossError(absl::StrCat("sealed block of ", count_,
                                               " samples: ", what,
                                               " malformed at sample ", read_));
  }
  read_ = count_;
}

}  // namespace keel::core::core_internal
