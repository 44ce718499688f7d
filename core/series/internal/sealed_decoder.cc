// SealedDecoder: reads one entry of a sealed frame (layout in
// sealed_codec.h) a batch at a time. The entry's sections lie in a buffer
// padded past their end (the decompressed payload, or a copy of a stored
// one's sections), so a batch decodes without a bound check per varint;
// each batch then checks that no section ran past its end.
// Magicless frames: see sealed_codec.cc.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/io/little_endian.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/internal/sealed_format.h"
#include "core/series/internal/sealed_varint.h"

namespace keel::core::core_internal {
namespace {

constexpr std::size_t kBatch = 256;
// A batch reads at most 10 bytes a sample of a section; a malformed section
// may run that far past its end before the check after the batch.
constexpr std::size_t kPadding = 10 * kBatch + 16;

// The frame payloads this thread decompressed last: a scan reads series
// one after another, each through its windows, so it meets the frames of
// one series' windows in turn, then the same frames for the next series.
// A slot a window (the store keeps 8 by default) decompresses each frame
// once.
class FrameCache {
 public:
  static constexpr std::size_t kSlots = 8;
  static constexpr std::size_t kBytes = kSealedMaxFrameRaw + kPadding;

  FrameCache() {
    ZSTD_DCtx_setParameter(context_, ZSTD_d_format, ZSTD_f_zstd1_magicless);
  }
  ~FrameCache() { ZSTD_freeDCtx(context_); }

  // Where each entry's sections lie in a frame's payload: found by one
  // walk of the entry list when the frame is decompressed, so that opening
  // the k-th entry does not walk the k before it again.
  struct Sections {
    uint32_t entry;  // offset in the frame
    uint32_t ts_at;
    uint32_t value_at;
  };
  struct Slot {
    const uint8_t* frame = nullptr;
    uint64_t id = 0;
    // The payload, then kPadding bytes: decoders read their sections here
    // and hold the buffer while they do.
    std::shared_ptr<uint8_t[]> raw;
    std::vector<Sections> sections;  // by entry offset
  };

  // The slot of `frame` with its payload decompressed and its entries'
  // sections listed; null if it does not decompress.
  const Slot* Get(const uint8_t* frame, uint64_t id, const uint8_t* packed,
                  std::size_t packed_bytes, std::size_t raw_bytes,
                  uint32_t ts_total, uint32_t payload_at) {
    for (Slot& slot : slots_) {
      if (slot.frame == frame && slot.id == id) return &slot;
    }
    Slot& slot = slots_[next_++ % kSlots];
    slot.frame = nullptr;
    // A decoder still reading the slot's payload keeps it; the slot takes
    // a new one, zeroed: the bytes past a payload are only ever read by a
    // malformed section, before the check after its batch.
    if (slot.raw == nullptr || slot.raw.use_count() > 1) {
      slot.raw = std::make_shared<uint8_t[]>(kBytes);
    }
    std::size_t got = ZSTD_decompressDCtx(context_, slot.raw.get(), raw_bytes,
                                          packed, packed_bytes);
    if (ZSTD_isError(got) || got != raw_bytes) return nullptr;
    slot.sections.clear();
    uint64_t ts_at = 0;
    uint64_t value_at = ts_total;
    for (const uint8_t* e = frame + kSealedFrameHeader;
         e < frame + payload_at;) {
      auto entry = static_cast<uint32_t>(e - frame);
      e += 2;
      ReadUvarint(e);
      ReadUvarint(e);
      uint64_t ts_bytes = ReadUvarint(e);
      uint64_t value_bytes = ReadUvarint(e);
      slot.sections.push_back({entry, static_cast<uint32_t>(ts_at),
                               static_cast<uint32_t>(value_at)});
      ts_at += ts_bytes;
      value_at += value_bytes;
    }
    slot.frame = frame;
    slot.id = id;
    return &slot;
  }

 private:
  ZSTD_DCtx* context_ = ZSTD_createDCtx();
  Slot slots_[kSlots];
  std::size_t next_ = 0;
};

// Caches that threads gave back, for the next thread that reads: a pool of
// hundreds of request threads then holds as many caches as read at once,
// not one each, and a query still finds the frames the one before it
// decompressed.
class IdleCaches {
 public:
  std::unique_ptr<FrameCache> Take() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<FrameCache> cache = std::move(idle_.back());
        idle_.pop_back();
        return cache;
      }
    }
    return std::make_unique<FrameCache>();
  }
  void Give(std::unique_ptr<FrameCache> cache) {
    std::lock_guard lock(mu_);
    if (idle_.size() < kSealedIdleDecodeCaches) {
      idle_.push_back(std::move(cache));
    }
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<FrameCache>> idle_;
};

IdleCaches& Idle() {
  static auto* idle = new IdleCaches;  // never destroyed: threads outlive it
  return *idle;
}

// Taken at a thread's first compressed entry; freed with the thread or by
// ReleaseSealedDecodeCache, given back by ReturnSealedDecodeCache.
thread_local std::unique_ptr<FrameCache> tls_frame_cache;

FrameCache& Cache() {
  if (tls_frame_cache == nullptr) tls_frame_cache = Idle().Take();
  return *tls_frame_cache;
}

// The decode loop of one batch, specialised for the entry's shapes.
// kTs and kValue: the entry's kSealedTs* and kSealedValue* modes (a
// constant's bits are in m).
template <int kTs, int kValue, bool kDivide>
void DecodeBatch(const uint8_t*& ts_ref, const uint8_t*& val_ref,
                 int64_t& t_ref, uint64_t interval, uint64_t& delta_ref,
                 uint64_t& m_ref, uint64_t& m_delta_ref, double scale,
                 std::size_t n, int64_t* out_t, uint64_t* out_bits) {
  // The state lives in locals: through the references, every store to the
  // outputs (which may alias them, as far as the compiler knows) would put
  // a store and a reload on each sample's dependency chain.
  const uint8_t* ts = ts_ref;
  const uint8_t* val = val_ref;
  int64_t t = t_ref;
  uint64_t delta = delta_ref;
  uint64_t m = m_ref;
  uint64_t m_delta = m_delta_ref;
  for (std::size_t i = 0; i < n; ++i) {
    if constexpr (kTs == kSealedTsRegular) {
      delta += interval;
      t = static_cast<int64_t>(delta);
      out_t[i] = t;
    } else {
      uint64_t r = UnZigZag(ReadUvarint(ts));
      if constexpr (kTs == kSealedTsFromGrid) {
        delta += interval;  // the grid time
        t = static_cast<int64_t>(delta + r);
      } else {
        delta = (kTs == kSealedTsDeltaOfDelta ? delta : interval) + r;
        t = static_cast<int64_t>(static_cast<uint64_t>(t) + delta);
      }
      out_t[i] = t;
    }
    if constexpr (kValue == kSealedValueConstant) {
      out_bits[i] = m;
    } else if constexpr (kValue == kSealedValueXor) {
      m ^= GetU64(val);
      val += 8;
      out_bits[i] = m;
    } else {
      uint64_t s = UnZigZag(ReadUvarint(val));
      if constexpr (kValue == kSealedValueDeltaOfDelta) {
        m_delta += s;
        m += m_delta;
      } else {
        m += s;
      }
      double x = static_cast<double>(static_cast<int64_t>(m));
      out_bits[i] = std::bit_cast<uint64_t>(kDivide ? x / scale : x * scale);
    }
  }
  ts_ref = ts;
  val_ref = val;
  t_ref = t;
  delta_ref = delta;
  m_ref = m;
  m_delta_ref = m_delta;
}

using BatchFn = void (*)(const uint8_t*&, const uint8_t*&, int64_t&, uint64_t,
                         uint64_t&, uint64_t&, uint64_t&, double, std::size_t,
                         int64_t*, uint64_t*);

template <int kTs>
BatchFn Pick(int value_mode, bool divide) {
  switch (value_mode) {
    case kSealedValueDelta:
      return divide ? DecodeBatch<kTs, kSealedValueDelta, true>
                    : DecodeBatch<kTs, kSealedValueDelta, false>;
    case kSealedValueDeltaOfDelta:
      return divide ? DecodeBatch<kTs, kSealedValueDeltaOfDelta, true>
                    : DecodeBatch<kTs, kSealedValueDeltaOfDelta, false>;
    case kSealedValueXor:
      return DecodeBatch<kTs, kSealedValueXor, false>;
    default:
      return DecodeBatch<kTs, kSealedValueConstant, false>;
  }
}

}  // namespace

void ReleaseSealedDecodeCache() { tls_frame_cache.reset(); }

void ReturnSealedDecodeCache() {
  if (tls_frame_cache != nullptr) Idle().Give(std::move(tls_frame_cache));
}

absl::Status SealedDecoder::Open(const uint8_t* entry) {
  status_ = absl::OkStatus();
  count_ = read_ = 0;
  auto bad = [&](const char* what) {
    count_ = read_ = 0;
    status_ = absl::DataLossError(
        absl::StrCat("sealed frame entry: ", what, " malformed"));
    return status_;
  };
  // The entry and the frame header are the store's own; the payload sizes
  // are checked before any copy or decompression relies on them.
  const uint8_t* p = entry + 2;
  uint64_t back = ReadUvarint(p);
  uint64_t t0 = UnZigZag(ReadUvarint(p));
  const uint8_t* frame = entry - back;
  uint8_t flags = frame[0];
  uint32_t raw_bytes = GetU32(frame + 3);
  uint32_t packed_bytes = GetU32(frame + 7);
  uint32_t ts_total = GetU32(frame + 11);
  uint64_t id = GetU64(frame + 15);
  t0 += static_cast<uint64_t>(GetI64(frame + 23));
  uint32_t payload_at = GetU32(frame + 31);
  if (raw_bytes > kSealedMaxFrameRaw || ts_total > raw_bytes) {
    return bad("payload sizes");
  }
  const uint64_t ts_bytes = ReadUvarint(p);
  const uint64_t value_bytes = ReadUvarint(p);
  // The entry's sections: after those of the entries before it, listed
  // once per decompressed frame, or found by a walk of the list.
  uint64_t ts_at = 0;
  uint64_t value_at = ts_total;
  const uint8_t* raw;
  payload_ = nullptr;  // the cache may reuse the slot it held
  if (flags & kSealedFlagZstd) {
    const FrameCache::Slot* slot =
        Cache().Get(frame, id, frame + payload_at, packed_bytes, raw_bytes,
                    ts_total, payload_at);
    if (slot == nullptr) return bad("zstd payload");
    auto at = static_cast<uint32_t>(back);
    auto it = std::lower_bound(
        slot->sections.begin(), slot->sections.end(), at,
        [](const FrameCache::Sections& s, uint32_t o) { return s.entry < o; });
    if (it == slot->sections.end() || it->entry != at) {
      return bad("entry list");
    }
    ts_at = it->ts_at;
    value_at = it->value_at;
    raw = slot->raw.get();
    payload_ = slot->raw;
  } else {
    for (const uint8_t* e = frame + kSealedFrameHeader; e != entry;) {
      e += 2;
      ReadUvarint(e);
      ReadUvarint(e);
      ts_at += ReadUvarint(e);
      value_at += ReadUvarint(e);
      if (e >= frame + payload_at) return bad("entry list");
    }
    raw = frame + payload_at;
  }
  if (ts_at + ts_bytes > ts_total || value_at + value_bytes > raw_bytes) {
    return bad("section sizes");
  }
  count_ = static_cast<uint32_t>(entry[0] << 8 | entry[1]);
  if (payload_ != nullptr) {
    // The decompressed payload is padded: the sections are read in place.
    ts_ = raw + ts_at;
    val_ = raw + value_at;
  } else {
    // A stored payload ends where the frame does: its sections are copied
    // into a padded buffer. The padding only ever holds what a malformed
    // section would over-read: zeroed when the buffer grows, then left as
    // it is.
    if (body_.size() < ts_bytes + value_bytes + kPadding) {
      body_.resize(ts_bytes + value_bytes + kPadding);
    }
    std::memcpy(body_.data(), raw + ts_at, ts_bytes);
    std::memcpy(body_.data() + ts_bytes, raw + value_at, value_bytes);
    ts_ = body_.data();
    val_ = ts_ + ts_bytes;
  }
  ts_end_ = ts_ + ts_bytes;
  val_end_ = val_ + value_bytes;
  uint64_t x;
  if (count_ == 0 || !ReadUvarintIn(ts_, ts_end_, interval_) ||
      ts_ >= ts_end_ || *ts_ > kSealedTsRegular) {
    return bad("timestamp section header");
  }
  ts_mode_ = *ts_++;
  // Sample 0's timestamp entry is 0: stepping back one interval first lets
  // the batch loop treat it like every other.
  t_ = static_cast<int64_t>(t0 - interval_);
  delta_ = ts_mode_ >= kSealedTsFromGrid ? t0 - interval_ : interval_;
  if (val_ >= val_end_ || *val_ > kSealedValueConstant)
    return bad("value section header");
  value_mode_ = *val_++;
  exponent_ = 0;
  if (value_mode_ != kSealedValueXor) {
    if (!ReadUvarintIn(val_, val_end_, x)) return bad("value exponent");
    auto e = static_cast<int64_t>(UnZigZag(x));
    if (e < -kSealedMaxExponent || e > kSealedMaxExponent)
      return bad("value exponent");
    exponent_ = static_cast<int>(e);
  }
  if (!ReadUvarintIn(val_, val_end_, x) || x > count_) return bad("exceptions");
  exceptions_left_ = static_cast<uint32_t>(x);
  exc_ = val_;
  for (uint64_t k = 0; k < exceptions_left_; ++k) {
    uint64_t gap;
    if (!ReadUvarintIn(val_, val_end_, gap) || val_end_ - val_ < 8) {
      return bad("exceptions");
    }
    val_ += 8;
  }
  exc_end_ = val_;
  next_exception_ = 0;
  if (exceptions_left_ > 0) ReadUvarintIn(exc_, exc_end_, next_exception_);
  m_ = 0;
  m_delta_ = 0;
  if (value_mode_ == kSealedValueConstant) {
    if (!ReadUvarintIn(val_, val_end_, x)) return bad("value");
    double v = static_cast<double>(static_cast<int64_t>(UnZigZag(x)));
    v = exponent_ < 0 ? v / kSealedPow10[-exponent_]
                      : v * kSealedPow10[exponent_];
    m_ = std::bit_cast<uint64_t>(v);
  }
  return status_;
}

std::size_t SealedDecoder::Decode(int64_t* t, uint64_t* bits, std::size_t max) {
  std::size_t todo = std::min<std::size_t>(max, count_ - read_);
  std::size_t done = 0;
  const bool divide = exponent_ < 0;
  const double scale = kSealedPow10[divide ? -exponent_ : exponent_];
  BatchFn batch = ts_mode_ == kSealedTsFromInterval
                      ? Pick<kSealedTsFromInterval>(value_mode_, divide)
                  : ts_mode_ == kSealedTsDeltaOfDelta
                      ? Pick<kSealedTsDeltaOfDelta>(value_mode_, divide)
                  : ts_mode_ == kSealedTsFromGrid
                      ? Pick<kSealedTsFromGrid>(value_mode_, divide)
                      : Pick<kSealedTsRegular>(value_mode_, divide);
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
        if (!ReadUvarintIn(exc_, exc_end_, gap) || gap == 0) {
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
    status_ = absl::DataLossError(absl::StrCat("sealed frame entry of ", count_,
                                               " samples: ", what,
                                               " malformed at sample ", read_));
  }
  read_ = count_;
}

}  // namespace keel::core::core_internal
