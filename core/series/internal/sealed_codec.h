// The sealed-window encoding: how the samples of a window that takes no
// more appends are kept, at a fraction of the XOR encoding's bytes, and
// decoded a buffer at a time (SampleIterator) by SealedDecoder.
//
// What makes it small, chosen per series and window by measuring the
// candidates:
// - timestamps as offsets from the regular grid t_0 + i * D (D the median
//   delta: the scrape interval), as differences from D, or as
//   delta-of-deltas, zig-zag varints;
// - values as decimal mantissas under one exponent when they convert back
//   bit for bit (m * 10^e or m / 10^-e, all operands exact doubles, so IEEE
//   rounding makes the round trip exact), stored as deltas or
//   delta-of-deltas of the mantissas; the few values that do not convert
//   (NaN payloads, the stale marker, -0, infinities, long binary fractions)
//   are kept as raw bits beside them. When too many do not, the values are
//   XORed with their predecessor, 8 bytes each;
// - consecutive series of a window share one frame, compressed together by
//   zstd: series scraped together share their timestamps, and a frame's
//   compression finds those (and repeated values) once for all of them.
//
// A frame: a 35-byte header (u8 flags, bit 0 zstd; u16 entries; u32 payload
// bytes raw; u32 payload bytes stored; u32 bytes of all timestamp sections;
// u64 frame id, unique in the process; i64 base time; u32 payload offset;
// little-endian), one entry a series, then the payload: every entry's timestamp
// section, then every entry's value section. An entry: u16 big-endian sample
// count (as an XOR chunk's header, so XorSampleCount reads it), uvarint offset
// from the frame's start, zig-zag uvarint of its first timestamp minus the
// base, uvarint bytes of its timestamp and value sections. Timestamp section:
// uvarint D, u8 shape (0: d_i - D; 1: d_i - d_(i-1) with d_0 = D; 2: t_i - (t_0
// + i * D); 3: on that grid exactly, no entries), n zig-zag varints (sample 0's
// is 0). Value section: u8 shape (0: decimal deltas, 1: decimal
// delta-of-deltas, 2: XOR, 3: one decimal value); for decimal a zig-zag
// exponent; uvarint exception count, each an index gap (uvarint) and 8
// little-endian value bytes; then the stream: for shapes 0 and 1 n zig-zag
// varints (differences from a history of zeros), for 2 n x 8 little-endian
// bytes, for 3 the one mantissa.
//
//   SealedFrameBuilder builder;
//   std::size_t n = builder.Add(times, value_bits);  // 0: frame full
//   std::vector<uint8_t> frame;
//   std::vector<SealedEntry> entries;
//   builder.Finish(frame, entries);
//   SealedDecoder decoder;
//   if (decoder.Open(frame.data() + entries[0].offset).ok())
//     while (std::size_t k = decoder.Decode(t, bits, 128)) use(t, bits, k);
//
// Frames are the store's own memory, trusted: the decoder checks only what
// keeps it inside its buffers.
//
// Thread safety: a builder or decoder is one thread's; decoders on one
// thread share a small cache of the frames decompressed last (keyed by
// their ids), so a scan of consecutive series decompresses each frame once.
#ifndef KEEL_CORE_SERIES_INTERNAL_SEALED_CODEC_H_
#define KEEL_CORE_SERIES_INTERNAL_SEALED_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"

struct ZSTD_CCtx_s;  // zstd.h's ZSTD_CCtx

namespace keel::core::core_internal {

inline constexpr std::size_t kSealedFrameHeader = 35;
// A frame's payload before compression stays within this: the bytes a
// decoder decompresses to read one series of it.
inline constexpr std::size_t kSealedMaxFrameRaw = 64u << 10;
inline constexpr std::size_t kSealedMaxEntries = 1024;
inline constexpr std::size_t kSealedMaxSamples = 65535;
// Sealing packs a window's frames into buffers of up to this many bytes (a
// frame larger than that gets one of its own), and a snapshot restores them
// into the same. As large as a snapshot's frame group may be: every large
// buffer carries a page of jemalloc's padding, which a big window pays once
// a MiB instead of once every 64 KiB.
inline constexpr std::size_t kSealedBufferBytes = 1u << 20;

struct SealedEncodeOptions {
  int zstd_level = 6;  // 0: never compress
};

// Where Finish put an entry, and its share of the frame's bytes (the
// shares add up to the frame's size).
struct SealedEntry {
  uint32_t offset;
  uint32_t share;
  uint32_t count;
};

// Builds one frame from series added one after another. Its compression
// context (a few hundred KiB to a few MiB, by level) is made at the first
// Finish that compresses and freed with the builder: build a window's frames
// with one builder, and none stays resident between sealing passes.
class SealedFrameBuilder {
 public:
  explicit SealedFrameBuilder(const SealedEncodeOptions& options = {});
  ~SealedFrameBuilder();

  // Adds the first samples of `t` and `bits` (strictly increasing times) as
  // one entry, as many as fit the frame and kSealedMaxSamples; returns how
  // many, 0 if the frame is full (Finish it, then add again). A frame takes
  // at least one sample. REQUIRES: !t.empty(), t.size() == bits.size().
  std::size_t Add(std::span<const int64_t> t, std::span<const uint64_t> bits);
  bool empty() const { return entries_.empty(); }

  // Writes the frame into `frame` and its entries, in the order added, into
  // `entries`; the builder starts over empty.
  void Finish(std::vector<uint8_t>& frame, std::vector<SealedEntry>& entries);

 private:
  struct Entry {
    int64_t t0;
    uint32_t count;
    uint32_t ts_bytes;
    uint32_t value_bytes;
  };
  struct FreeContext {
    void operator()(ZSTD_CCtx_s* c) const;
  };
  ZSTD_CCtx_s* Context();

  SealedEncodeOptions options_;
  std::unique_ptr<ZSTD_CCtx_s, FreeContext> context_;
  std::vector<Entry> entries_;
  std::vector<uint8_t> ts_;
  std::vector<uint8_t> values_;
  std::vector<uint8_t> ts_piece_;
  std::vector<uint8_t> value_piece_;
};

// The first timestamp of an entry. REQUIRES: `entry` points at an entry of
// a frame made by SealedFrameBuilder.
int64_t SealedMinTime(const uint8_t* entry);

// The whole frame an entry lies in. REQUIRES: as SealedMinTime.
std::span<const uint8_t> SealedFrameOf(const uint8_t* entry);

// Groups a window's frames, of `sizes` bytes, into buffers of up to
// kSealedBufferBytes (a larger frame gets one of its own) whose jemalloc
// size classes add up to little. Returns each frame's buffer, numbered from
// 0 with none empty. The grouping depends only on the sizes, not on their
// order, so that a snapshot (snapshot/internal/frame_plan.cc) groups the
// frames of a window as sealing did.
std::vector<uint32_t> PackSealedFrames(std::span<const std::size_t> sizes);

// Gives a frame a new process-unique id. A copied frame needs one: the
// decode cache knows frames by address and id, and ids from another process
// (a snapshot's) may equal one of this process' at a reused address.
void RenumberSealedFrame(std::span<uint8_t> frame);

// An entry of a frame that CheckSealedFrame read: where it lies, its share
// of the frame's bytes (as SealedFrameBuilder gave it) and its samples.
struct SealedEntryInfo {
  uint32_t offset;
  uint32_t share;
  uint32_t count;
  int64_t min_time;
  int64_t max_time;
};

// Checks a frame that comes from outside the store (a snapshot): its header
// and entry list agree with its size and each other, its payload
// decompresses, and every entry decodes to its count of strictly ascending
// timestamps. Renumbers the frame first (RenumberSealedFrame). Fills
// `entries` in frame order. Errors: DataLoss naming the field.
absl::Status CheckSealedFrame(std::span<uint8_t> frame,
                              std::vector<SealedEntryInfo>& entries);

// The decimal form of one value, if it has one: m * 10^e (e >= 0) or
// m / 10^-e (e < 0) equals the value bit for bit, |m| <= 2^53, with the
// fewest decimals. Exposed for tests and measurements.
bool ToDecimal(uint64_t bits, int64_t& mantissa, int& exponent);

// Decodes one entry a buffer at a time. Reads a compressed frame's
// sections where the thread's decode cache decompressed them, holding that
// buffer until the next Open; copies a stored frame's into a buffer of its
// own, reused across Open calls.
class SealedDecoder {
 public:
  // REQUIRES: as SealedMinTime. DataLoss naming the field when the frame's
  // payload does not decompress or its sizes disagree.
  absl::Status Open(const uint8_t* entry);
  // Decodes up to `max` next samples; 0 at the end. A section running past
  // its end ends the entry early and sets status().
  std::size_t Decode(int64_t* t, uint64_t* bits, std::size_t max);
  uint32_t count() const { return count_; }
  const absl::Status& status() const { return status_; }

 private:
  void Fail(const char* what);

  // The payload of the frame being read (when decompressed, as the decode
  // cache holds it), or a copy of its sections.
  std::shared_ptr<const uint8_t[]> payload_;
  std::vector<uint8_t> body_;
  const uint8_t* ts_ = nullptr;  // next byte of each section
  const uint8_t* ts_end_ = nullptr;
  const uint8_t* val_ = nullptr;
  const uint8_t* val_end_ = nullptr;
  const uint8_t* exc_ = nullptr;
  const uint8_t* exc_end_ = nullptr;
  uint32_t count_ = 0;
  uint32_t read_ = 0;
  uint32_t exceptions_left_ = 0;
  uint64_t next_exception_ = 0;  // sample index of the next exception
  uint8_t ts_mode_ = 0;
  uint8_t value_mode_ = 0;
  int exponent_ = 0;
  int64_t t_ = 0;
  uint64_t interval_ = 0;
  uint64_t delta_ = 0;  // last timestamp delta, or the grid time
  uint64_t m_ = 0;      // last mantissa (or value bits in XOR mode)
  uint64_t m_delta_ = 0;
  absl::Status status_;
};

// A thread's decode cache: a zstd context and the last 8 frames it
// decompressed, about 0.6 MiB. Made at its first compressed entry (taken
// from the idle ones if there is one), freed with the thread. Two ways to
// end it earlier; REQUIRES for both: no SealedDecoder of the thread is
// open.
//
// Frees it: for a thread that decodes now and then, alone (the store's
// sealing pass, once a window closes).
void ReleaseSealedDecodeCache();
// Gives it to the process's idle caches (at most kSealedIdleDecodeCaches;
// past that it is freed), for the next thread that decodes, the frames in
// it still valid: for one thread of many that each decode now and then (a
// server's request threads, after each query), so that they hold as many
// caches as decode at once, not one each.
void ReturnSealedDecodeCache();
inline constexpr std::size_t kSealedIdleDecodeCaches = 4;

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SEALED_CODEC_H_
