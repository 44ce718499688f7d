// Frames as whole objects: finding an entry's frame (a snapshot writes
// frames as they are), grouping a window's frames into buffers, and checking a
// frame that comes from outside the store (a snapshot's, before a restore
// adopts it). The decoder trusts the store's own frames; here every field is
// read within the frame's bytes before the decoder is let near it.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "alloc/size_classes.h"
#include "core/io/little_endian.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/internal/sealed_varint.h"

namespace keel::core::core_internal {
namespace {

absl::Status Bad(const std::string& what) {
  return absl::DataLossError(absl::StrCat("sealed frame: ", what));
}

struct Listed {
  uint32_t offset;
  uint32_t count;
  uint64_t section_bytes;
};

}  // namespace

std::span<const uint8_t> SealedFrameOf(const uint8_t* entry) {
  const uint8_t* p = entry + 2;
  const uint8_t* frame = entry - ReadUvarint(p);
  return {frame, std::size_t{GetU32(frame + 31)} + GetU32(frame + 7)};
}

std::vector<uint32_t> PackSealedFrames(std::span<const std::size_t> sizes) {
  // Frames by decreasing size; equal sizes in input order. The packing
  // below sees only this sequence of sizes.
  const std::size_t n = sizes.size();
  std::vector<uint32_t> order(n);
  for (uint32_t k = 0; k < n; ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return sizes[a] > sizes[b]; });
  std::vector<std::size_t> size(n);
  for (std::size_t k = 0; k < n; ++k) size[k] = sizes[order[k]];
  // First fit by decreasing size fills buffers of kSealedBufferBytes, but
  // a window's last buffer, or one it leaves a little short of a class,
  // pays up to a class step. Moving or swapping single frames between
  // buffers (a new one included) while that lowers what they hold then
  // brings each buffer up to just under a class of its own.
  std::vector<std::size_t> used;
  std::vector<uint32_t> in(n);
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t b = 0;
    while (b < used.size() && used[b] + size[k] > kSealedBufferBytes) ++b;
    if (b == used.size()) used.push_back(0);
    used[b] += size[k];
    in[k] = static_cast<uint32_t>(b);
  }
  const alloc::SizeClasses& classes = alloc::SizeClasses::Get();
  // What a buffer takes from the arena, the page of padding of a large one
  // included: many buffers just past 16 KiB cost a page each, few big ones
  // a coarser class step.
  auto held = [&](std::size_t bytes) {
    return bytes == 0 ? 0 : classes.Footprint(bytes);
  };
  // Whether buffers a and b, holding a_bytes and b_bytes instead, stay
  // within the limit and hold less; if so they take them.
  auto improve = [&](std::size_t a, std::size_t b, std::size_t a_bytes,
                     std::size_t b_bytes) {
    if (a_bytes > kSealedBufferBytes || b_bytes > kSealedBufferBytes ||
        held(a_bytes) + held(b_bytes) >= held(used[a]) + held(used[b])) {
      return false;
    }
    used[a] = a_bytes;
    used[b] = b_bytes;
    return true;
  };
  // Every move taken lowers the sum: this ends. The pass limit bounds the
  // time a window of many frames may take.
  for (int pass = 0, moved = 1; moved > 0 && pass < 16; ++pass) {
    moved = 0;
    for (std::size_t f = 0; f < n; ++f) {
      used.push_back(0);  // a new buffer, dropped again if still empty
      for (std::size_t b = 0; b < used.size(); ++b) {
        const std::size_t a = in[f];
        if (b != a && improve(a, b, used[a] - size[f], used[b] + size[f])) {
          in[f] = static_cast<uint32_t>(b);
          ++moved;
          break;
        }
      }
      for (std::size_t g = 0; g < n; ++g) {
        const std::size_t a = in[f];
        const std::size_t b = in[g];
        if (a != b && size[g] != size[f] &&
            improve(a, b, used[a] - size[f] + size[g],
                    used[b] - size[g] + size[f])) {
          std::swap(in[f], in[g]);
          ++moved;
        }
      }
      if (used.back() == 0) used.pop_back();
    }
  }
  // Buffers numbered in order of first use, empty ones dropped.
  std::vector<uint32_t> number(used.size(), UINT32_MAX);
  uint32_t next = 0;
  std::vector<uint32_t> out(n);
  for (std::size_t k = 0; k < n; ++k) {
    if (number[in[k]] == UINT32_MAX) number[in[k]] = next++;
    out[order[k]] = number[in[k]];
  }
  return out;
}

absl::Status CheckSealedFrame(std::span<uint8_t> frame,
                              std::vector<SealedEntryInfo>& entries) {
  entries.clear();
  if (frame.size() < kSealedFrameHeader) {
    return Bad(absl::StrCat(frame.size(), " bytes, less than its header"));
  }
  const uint8_t* f = frame.data();
  const uint8_t flags = f[0];
  const uint32_t n = f[1] | uint32_t{f[2]} << 8;
  const uint32_t raw_bytes = GetU32(f + 3);
  const uint32_t stored = GetU32(f + 7);
  const uint32_t ts_total = GetU32(f + 11);
  const uint32_t payload_at = GetU32(f + 31);
  if (flags > 1) return Bad(absl::StrCat("flags ", flags));
  if (n == 0 || n > kSealedMaxEntries) {
    return Bad(absl::StrCat("entry count ", n));
  }
  if (raw_bytes > kSealedMaxFrameRaw || ts_total > raw_bytes) {
    return Bad(absl::StrCat("payload sizes ", raw_bytes, " raw, ", ts_total,
                            " of timestamps"));
  }
  if (payload_at < kSealedFrameHeader ||
      uint64_t{payload_at} + stored != frame.size() ||
      (flags == 0 && stored != raw_bytes)) {
    return Bad(absl::StrCat("payload at ", payload_at, ", ", stored,
                            " bytes stored, frame of ", frame.size()));
  }
  std::vector<Listed> listed;
  uint64_t ts_sum = 0;
  uint64_t value_sum = 0;
  const uint8_t* p = f + kSealedFrameHeader;
  const uint8_t* end = f + payload_at;
  for (uint32_t k = 0; k < n; ++k) {
    auto offset = static_cast<uint32_t>(p - f);
    uint64_t back, t0, ts_bytes, value_bytes;
    if (end - p < 2) return Bad(absl::StrCat("entry ", k, " past the list"));
    uint32_t count = uint32_t{p[0]} << 8 | p[1];
    p += 2;
    if (!ReadUvarintIn(p, end, back) || !ReadUvarintIn(p, end, t0) ||
        !ReadUvarintIn(p, end, ts_bytes) ||
        !ReadUvarintIn(p, end, value_bytes)) {
      return Bad(absl::StrCat("entry ", k, " past the list"));
    }
    if (count == 0 || back != offset) {
      return Bad(absl::StrCat("entry ", k, ": count ", count, ", offset ", back,
                              " at ", offset));
    }
    ts_sum += ts_bytes;
    value_sum += value_bytes;
    if (ts_sum > ts_total || ts_sum + value_sum > raw_bytes) {
      return Bad(absl::StrCat("entry ", k, ": sections past the payload"));
    }
    listed.push_back({offset, count, ts_bytes + value_bytes});
  }
  if (p != end || ts_sum != ts_total || ts_sum + value_sum != raw_bytes) {
    return Bad("entry list and payload sizes disagree");
  }
  // Fresh id before the first decode: the decode cache must not take this
  // frame for another it met at the same address.
  RenumberSealedFrame(frame);
  SealedDecoder decoder;
  int64_t t[256];
  uint64_t bits[256];
  uint64_t given = 0;
  const uint64_t raw_total = std::max<uint64_t>(1, raw_bytes);
  for (uint32_t k = 0; k < n; ++k) {
    const Listed& e = listed[k];
    if (absl::Status s = decoder.Open(f + e.offset); !s.ok()) {
      return Bad(absl::StrCat("entry ", k, ": ", s.message()));
    }
    SealedEntryInfo info{e.offset, 0, e.count, 0, 0};
    uint32_t got = 0;
    int64_t last = 0;
    while (std::size_t m = decoder.Decode(t, bits, 256)) {
      for (std::size_t i = 0; i < m; ++i, ++got) {
        if (got > 0 && t[i] <= last) {
          return Bad(absl::StrCat("entry ", k, ": timestamp ", got,
                                  " not after the one before"));
        }
        if (got == 0) info.min_time = t[i];
        last = t[i];
      }
    }
    if (!decoder.status().ok() || got != e.count) {
      return Bad(absl::StrCat("entry ", k, ": ", got, " of ", e.count,
                              " samples decode"));
    }
    info.max_time = last;
    // The shares SealedFrameBuilder::Finish gives: by raw bytes, the last
    // entry taking the rest, so that they add up to the frame.
    uint64_t share = k + 1 < n ? frame.size() * e.section_bytes / raw_total
                     : given < frame.size() ? frame.size() - given
                                            : 1;
    share = std::max<uint64_t>(share, 1);
    info.share = static_cast<uint32_t>(share);
    given += share;
    entries.push_back(info);
  }
  return absl::OkStatus();
}

}  // namespace keel::core::core_internal
