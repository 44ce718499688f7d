#include "core/series/xor_chunk.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace keel::core {

void XorChunk::Append(int64_t t, double v) {
  buf_.resize(state_.bytes() + kXorAppendReserve, 0);
  XorAppend(buf_.data(), state_, t, v);
}

XorIterator::XorIterator(std::span<const uint8_t> chunk)
    : begin_(chunk.data()) {
  c_.p = chunk.data();
  c_.end = chunk.data() + chunk.size();
  if (chunk.size() < kXorHeaderBytes) {
    corrupt_ = true;
    return;
  }
  count_ = XorSampleCount(chunk);
  c_.p += kXorHeaderBytes;
}

bool XorIterator::NextSlow() {
  using core_internal::ReadBits;
  // Varints are byte-aligned here: sample 0 starts at bit 16, sample 1 at
  // bit 16 + 8 * len(varint) + 64.
  uint64_t ux = 0;
  for (unsigned shift = 0;; shift += 7) {
    uint64_t b = ReadBits(c_, 8);
    if (shift == 63 && b > 1) {
      corrupt_ = true;
      return false;
    }
    ux |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
    if (shift == 63) {
      corrupt_ = true;
      return false;
    }
  }
  if (read_ == 0) {
    auto x = static_cast<int64_t>(ux >> 1);
    if (ux & 1) x = ~x;
    c_.t = x;
    c_.bits = ReadBits(c_, 32) << 32;
    c_.bits |= ReadBits(c_, 32);
  } else {
    c_.delta = ux;
    c_.t = static_cast<int64_t>(static_cast<uint64_t>(c_.t) + c_.delta);
    if (ReadBits(c_, 1) != 0) {
      if (ReadBits(c_, 1) == 0) {
        // '10' reuses a window, and none exists yet: never written so.
        corrupt_ = true;
        return false;
      }
      c_.leading = static_cast<uint8_t>(ReadBits(c_, 5));
      unsigned sig = static_cast<unsigned>(ReadBits(c_, 6));
      if (sig == 0) sig = 64;
      if (c_.leading + sig > 64) {
        corrupt_ = true;
        return false;
      }
      c_.trailing = static_cast<uint8_t>(64 - c_.leading - sig);
      uint64_t x = sig > 56 ? (ReadBits(c_, sig - 32) << 32) | ReadBits(c_, 32)
                            : ReadBits(c_, sig);
      c_.bits ^= x << c_.trailing;
    }
  }
  ++read_;
  if (c_.overrun > c_.avail) {
    corrupt_ = true;
    return false;
  }
  return true;
}

absl::Status XorIterator::status() const {
  if (!corrupt_) return absl::OkStatus();
  if (c_.end - begin_ < static_cast<std::ptrdiff_t>(kXorHeaderBytes)) {
    return absl::DataLossError(absl::StrCat(
        "xor chunk of ", c_.end - begin_, " bytes is shorter than its header"));
  }
  return absl::DataLossError(
      absl::StrCat("xor chunk of ", c_.end - begin_, " bytes, header count ",
                   count_, ": malformed or truncated at sample ", read_));
}

int64_t XorFirstTimestamp(std::span<const uint8_t> chunk) {
  uint64_t ux = 0;
  for (std::size_t i = kXorHeaderBytes, shift = 0;
       i < chunk.size() && shift < 64; ++i, shift += 7) {
    ux |= uint64_t{chunk[i] & 0x7fu} << shift;
    if ((chunk[i] & 0x80) == 0) break;
  }
  auto x = static_cast<int64_t>(ux >> 1);
  return (ux & 1) ? ~x : x;
}

}  // namespace keel::core
