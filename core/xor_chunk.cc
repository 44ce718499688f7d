#include "keel/core/xor_chunk.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace keel::core {

void XorChunk::Append(int64_t t, double v) {
  buf_.resize(state_.bytes() + kXorAppendReserve, 0);
  XorAppend(buf_.data(), state_, t, v);
}

XorIterator::XorIterator(std::span<const uint8_t> chunk)
    : begin_(chunk.data()),
      p_(chunk.data()),
      end_(chunk.data() + chunk.size()) {
  if (chunk.size() < kXorHeaderBytes) {
    corrupt_ = true;
    return;
  }
  count_ = XorSampleCount(chunk);
  p_ += kXorHeaderBytes;
}

bool XorIterator::NextSlow() {
  // Varints are byte-aligned here: sample 0 starts at bit 16, sample 1 at
  // bit 16 + 8 * len(varint) + 64.
  uint64_t ux = 0;
  for (unsigned shift = 0;; shift += 7) {
    uint64_t b = Read(8);
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
    t_ = x;
    bits_ = Read(32) << 32;
    bits_ |= Read(32);
  } else {
    delta_ = ux;
    t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + delta_);
    leading_ = 0xff;
    if (Read(1) != 0) {
      unsigned sig;
      if (Read(1) == 1) {
        leading_ = static_cast<uint8_t>(Read(5));
        sig = static_cast<unsigned>(Read(6));
        if (sig == 0) sig = 64;
        if (leading_ + sig > 64) {
          corrupt_ = true;
          return false;
        }
        trailing_ = static_cast<uint8_t>(64 - leading_ - sig);
      } else {
        // Prometheus' reader would reuse an unset window here; reject.
        corrupt_ = true;
        return false;
      }
      uint64_t x = sig > 56 ? (Read(sig - 32) << 32) | Read(32) : Read(sig);
      bits_ ^= x << trailing_;
    }
  }
  ++read_;
  if (overrun_ > avail_) {
    corrupt_ = true;
    return false;
  }
  return true;
}

absl::Status XorIterator::status() const {
  if (!corrupt_) return absl::OkStatus();
  if (end_ - begin_ < static_cast<std::ptrdiff_t>(kXorHeaderBytes)) {
    return absl::DataLossError(absl::StrCat(
        "xor chunk of ", end_ - begin_, " bytes is shorter than its header"));
  }
  return absl::DataLossError(
      absl::StrCat("xor chunk of ", end_ - begin_, " bytes, header count ",
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
