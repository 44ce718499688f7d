#include "snapshot/internal/record_parser.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/io/little_endian.h"
#include "snapshot/internal/block_reader.h"

namespace keel::snapshot::snapshot_internal {
using core::GetI64;
using core::GetU32;
namespace {

// Walks one file; each Parse* method consumes one block's records.
class Parser {
 public:
  Parser(const BlockReader& reader, RecordVisitor* visitor)
      : reader_(reader), header_(reader.header()), visitor_(visitor) {
    // Sized once from the header, bounded by what a file this long can
    // hold: growing by doubling would hold the old and the new array at
    // once, and capacity never touched is not resident.
    const uint64_t bytes = header_.file_bytes;
    last_time_.reserve(header_.SeriesBound());
    const uint64_t sealed = std::min<uint64_t>(
        header_.chunk_count,
        bytes / (kChunkRecordFixedBytes + kSealedChunkBytes));
    entries_.reserve(sealed);
    used_.reserve(sealed);
  }

  absl::Status ParseBlock(const Block& block) {
    pos_ = block.payload.data();
    end_ = pos_ + block.payload.size();
    base_ = block.payload_offset;
    block_start_ = pos_;
    for (uint32_t i = 0; i < block.record_count; ++i) {
      absl::Status s;
      switch (block.section) {
        case Section::kStrings:
          s = ParseString();
          break;
        case Section::kSeries:
          s = ParseSeries();
          break;
        case Section::kFrames:
          s = ParseFrame();
          break;
        case Section::kChunks:
          s = ParseChunk();
          break;
        case Section::kFooter:
          break;
      }
      if (!s.ok()) return s;
    }
    if (pos_ != end_) {
      return Fail(pos_, absl::StrCat(SectionName(block.section), " block: ",
                                     end_ - pos_, " bytes after its ",
                                     block.record_count, " records"));
    }
    return absl::OkStatus();
  }

  uint64_t frames() const { return frames_; }
  uint64_t sealed_chunks() const { return sealed_chunks_; }

  absl::Status CheckCounts(const Footer& footer, uint64_t footer_offset) const {
    auto mismatch = [&](const char* what, uint64_t want, uint64_t got) {
      return absl::DataLossError(
          absl::StrCat(reader_.path(), ": offset ", footer_offset, ": ", what,
                       ": ", want, " recorded, ", got, " read"));
    };
    if (strings_ != header_.string_count) {
      return mismatch("header string count", header_.string_count, strings_);
    }
    if (series_ != header_.series_count) {
      return mismatch("header series count", header_.series_count, series_);
    }
    if (chunks_ != header_.chunk_count) {
      return mismatch("header chunk count", header_.chunk_count, chunks_);
    }
    if (group_left_ != 0) {
      return mismatch("last frame group bytes", group_left_, 0);
    }
    if (footer.sample_count != samples_) {
      return mismatch("footer sample count", footer.sample_count, samples_);
    }
    if (footer.chunk_bytes != chunk_bytes_) {
      return mismatch("footer chunk bytes", footer.chunk_bytes, chunk_bytes_);
    }
    int64_t min_time = chunks_ == 0 ? 0 : min_time_;
    int64_t max_time = chunks_ == 0 ? 0 : max_time_;
    if (footer.min_time != min_time || footer.max_time != max_time) {
      return absl::DataLossError(
          absl::StrCat(reader_.path(), ": offset ", footer_offset,
                       ": footer time range differs from the chunks read"));
    }
    return absl::OkStatus();
  }

 private:
  uint64_t OffsetOf(const uint8_t* at) const {
    return base_ + static_cast<uint64_t>(at - block_start_);
  }

  bool Need(size_t n) const { return static_cast<size_t>(end_ - pos_) >= n; }

  absl::Status Truncated(const char* record) const {
    return Fail(pos_, absl::StrCat(record, " record runs past its block"));
  }
  [[gnu::cold]] absl::Status Fail(const uint8_t* at,
                                  const std::string& what) const {
    return absl::DataLossError(
        absl::StrCat(reader_.path(), ": offset ", OffsetOf(at), ": ", what));
  }

  absl::Status ParseString() {
    const uint8_t* at = pos_;
    if (strings_ >= header_.string_count) {
      return Fail(at, absl::StrCat("more strings than the header's ",
                                   header_.string_count));
    }
    if (!Need(4)) return Truncated("string");
    uint32_t len = GetU32(pos_);
    if (!Need(4 + size_t{len})) return Truncated("string");
    pos_ += 4 + size_t{len};
    if (visitor_ != nullptr) {
      absl::Status s = visitor_->OnString(
          static_cast<uint32_t>(strings_),
          std::string_view(reinterpret_cast<const char*>(at + 4), len));
      if (!s.ok()) {
        return Fail(at, absl::StrCat("string ", strings_, ": ", s.message()));
      }
    }
    ++strings_;
    return absl::OkStatus();
  }

  absl::Status ParseSeries() {
    const uint8_t* at = pos_;
    if (series_ >= header_.series_count) {
      return Fail(at, absl::StrCat("more series than the header's ",
                                   header_.series_count));
    }
    if (!Need(4)) return Truncated("series");
    uint32_t count = GetU32(pos_);
    if (!Need(4 + size_t{count} * 8)) return Truncated("series");
    labels_.clear();
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t name = GetU32(pos_ + 4 + i * 8);
      uint32_t value = GetU32(pos_ + 8 + i * 8);
      if (name >= strings_ || value >= strings_) {
        return Fail(pos_ + 4 + i * 8,
                    absl::StrCat("series ", series_, " label ", i,
                                 ": string number out of range (", strings_,
                                 " strings)"));
      }
      labels_.push_back({name, value});
    }
    pos_ += 4 + size_t{count} * 8;
    if (visitor_ != nullptr) {
      absl::Status s =
          visitor_->OnSeries(static_cast<uint32_t>(series_), labels_);
      if (!s.ok()) {
        return Fail(at, absl::StrCat("series ", series_, ": ", s.message()));
      }
    }
    last_time_.push_back(std::numeric_limits<int64_t>::min());
    ++series_;
    return absl::OkStatus();
  }

  // A frame record: u32 group bytes (> 0 opens a buffer the next frames
  // fill exactly), u32 frame bytes, the frame.
  absl::Status ParseFrame() {
    const uint8_t* at = pos_;
    if (!Need(kFrameRecordFixedBytes)) return Truncated("frame");
    uint32_t group = GetU32(pos_);
    uint32_t len = GetU32(pos_ + 4);
    if (!Need(kFrameRecordFixedBytes + size_t{len})) return Truncated("frame");
    const std::string name = absl::StrCat("frame ", frames_);
    if (group > 0 && group_left_ != 0) {
      return Fail(at, absl::StrCat(name, " opens a group ", group_left_,
                                   " bytes before the last one is full"));
    }
    // A frame larger than a group's bound has a group of its own.
    if ((group > kMaxFrameGroupBytes && group != len) ||
        (group == 0 && group_left_ == 0)) {
      return Fail(at, absl::StrCat(name, ": group bytes ", group));
    }
    if (group > 0) group_left_ = group;
    if (len > group_left_) {
      return Fail(at + 4, absl::StrCat(name, " of ", len,
                                       " bytes overflows its group (",
                                       group_left_, " bytes left)"));
    }
    group_left_ -= len;
    scratch_.assign(pos_ + kFrameRecordFixedBytes,
                    pos_ + kFrameRecordFixedBytes + len);
    if (absl::Status s =
            core::core_internal::CheckSealedFrame(scratch_, infos_);
        !s.ok()) {
      return Fail(at + kFrameRecordFixedBytes,
                  absl::StrCat(name, ": ", s.message()));
    }
    frame_first_.push_back(static_cast<uint32_t>(entries_.size()));
    entries_.insert(entries_.end(), infos_.begin(), infos_.end());
    used_.resize(entries_.size(), false);
    pos_ += kFrameRecordFixedBytes + size_t{len};
    if (visitor_ != nullptr) {
      absl::Status s =
          visitor_->OnFrame(static_cast<uint32_t>(frames_), group, scratch_);
      if (!s.ok()) return Fail(at, absl::StrCat(name, ": ", s.message()));
    }
    ++frames_;
    return absl::OkStatus();
  }

  // A sealed chunk record names an entry of a frame read before: the
  // entry's count and times must be the record's, and no other record may
  // name it.
  absl::Status FindEntry(ChunkRecord& c, const uint8_t* at) {
    const std::string name = absl::StrCat("chunk ", chunks_, ": sealed entry");
    if (header_.version < 2 || c.bytes.size() != kSealedChunkBytes) {
      return Fail(at + 24,
                  absl::StrCat(name, " in a version ", header_.version,
                               " file or of ", c.bytes.size(), " bytes"));
    }
    if (group_left_ != 0) {
      return Fail(at, absl::StrCat(name, ": the last frame group lacks ",
                                   group_left_, " bytes"));
    }
    c.frame = GetU32(c.bytes.data());
    uint32_t offset = GetU32(c.bytes.data() + 4);
    if (c.frame >= frames_) {
      return Fail(at + kChunkRecordFixedBytes,
                  absl::StrCat(name, ": frame ", c.frame, " out of range (",
                               frames_, " frames)"));
    }
    auto first = entries_.begin() + frame_first_[c.frame];
    auto last = c.frame + 1 < frames_
                    ? entries_.begin() + frame_first_[c.frame + 1]
                    : entries_.end();
    auto it = std::lower_bound(first, last, offset,
                               [](const core::core_internal::SealedEntryInfo& e,
                                  uint32_t o) { return e.offset < o; });
    if (it == last || it->offset != offset) {
      return Fail(at + kChunkRecordFixedBytes + 4,
                  absl::StrCat(name, ": no entry at offset ", offset,
                               " of frame ", c.frame));
    }
    std::size_t index = static_cast<std::size_t>(it - entries_.begin());
    if (used_[index]) {
      return Fail(at, absl::StrCat(name, " of frame ", c.frame, " at ", offset,
                                   " named twice"));
    }
    if (it->count != c.sample_count || it->min_time != c.min_time ||
        it->max_time != c.max_time) {
      return Fail(
          at + 4,
          absl::StrCat(name, ": the record's [", c.min_time, ", ", c.max_time,
                       "] and ", c.sample_count, " samples, the entry's [",
                       it->min_time, ", ", it->max_time, "] and ", it->count));
    }
    used_[index] = true;
    c.entry = &*it;
    return absl::OkStatus();
  }

  absl::Status ParseChunk() {
    const uint8_t* at = pos_;
    if (chunks_ >= header_.chunk_count) {
      return Fail(at, absl::StrCat("more chunks than the header's ",
                                   header_.chunk_count));
    }
    if (!Need(kChunkRecordFixedBytes)) return Truncated("chunk");
    ChunkRecord c;
    c.series = GetU32(pos_);
    c.min_time = GetI64(pos_ + 4);
    c.max_time = GetI64(pos_ + 12);
    c.sample_count = GetU32(pos_ + 20);
    c.encoding = pos_[24];
    uint32_t len = GetU32(pos_ + 25);
    if (!Need(kChunkRecordFixedBytes + size_t{len})) return Truncated("chunk");
    c.bytes = {pos_ + kChunkRecordFixedBytes, len};
    c.offset = OffsetOf(at);
    c.number = chunks_;
    if (c.series >= series_) {
      return Fail(at, absl::StrCat("chunk ", chunks_, ": series ", c.series,
                                   " out of range (", series_, " series)"));
    }
    if (c.min_time > c.max_time || c.sample_count == 0) {
      return Fail(at + 4, absl::StrCat("chunk ", chunks_,
                                       ": bad time range or sample count"));
    }
    if (c.min_time <= last_time_[c.series]) {
      return Fail(at + 4,
                  absl::StrCat("chunk ", chunks_, " of series ", c.series,
                               " overlaps or precedes its previous "
                               "chunk"));
    }
    bool chronological = (header_.flags & kFlagRandomOrder) == 0;
    if (chronological && chunks_ > 0 &&
        (c.min_time < prev_min_ ||
         (c.min_time == prev_min_ && c.series <= prev_series_))) {
      return Fail(at, absl::StrCat("chunk ", chunks_,
                                   " out of (min time, series) order"));
    }
    if (c.encoding == core::kSealedEncoding) {
      if (absl::Status s = FindEntry(c, at); !s.ok()) return s;
      ++sealed_chunks_;
    }
    pos_ += kChunkRecordFixedBytes + size_t{len};
    if (visitor_ != nullptr) {
      absl::Status s = visitor_->OnChunk(c);
      if (!s.ok()) {
        return Fail(at, absl::StrCat("chunk ", chunks_, ": ", s.message()));
      }
    }
    last_time_[c.series] = c.max_time;
    prev_min_ = c.min_time;
    prev_series_ = c.series;
    if (chunks_ == 0 || c.min_time < min_time_) min_time_ = c.min_time;
    if (chunks_ == 0 || c.max_time > max_time_) max_time_ = c.max_time;
    ++chunks_;
    samples_ += c.sample_count;
    chunk_bytes_ += len;
    return absl::OkStatus();
  }

  const BlockReader& reader_;
  const Header& header_;
  RecordVisitor* visitor_;
  const uint8_t* block_start_ = nullptr;
  const uint8_t* pos_ = nullptr;
  const uint8_t* end_ = nullptr;
  uint64_t base_ = 0;
  uint64_t strings_ = 0;
  std::vector<LabelRef> labels_;
  std::vector<int64_t> last_time_;  // per series: max time of its last chunk
  uint64_t series_ = 0;
  uint64_t chunks_ = 0;
  uint64_t samples_ = 0;
  uint64_t chunk_bytes_ = 0;
  int64_t prev_min_ = 0;
  uint32_t prev_series_ = 0;
  int64_t min_time_ = 0;
  int64_t max_time_ = 0;
  // Frames: every entry's description (for the sealed chunk records), the
  // index of each frame's first, which records named them already.
  uint64_t frames_ = 0;
  uint64_t sealed_chunks_ = 0;
  std::size_t group_left_ = 0;
  std::vector<uint8_t> scratch_;
  std::vector<core::core_internal::SealedEntryInfo> infos_;
  std::vector<core::core_internal::SealedEntryInfo> entries_;
  std::vector<uint32_t> frame_first_;
  std::vector<bool> used_;
};

}  // namespace

absl::StatusOr<ParseSummary> ParseSnapshot(const std::string& path,
                                           RecordVisitor* visitor) {
  absl::StatusOr<std::unique_ptr<BlockReader>> reader = BlockReader::Open(path);
  if (!reader.ok()) return reader.status();
  BlockReader& r = **reader;
  if (visitor != nullptr) {
    if (absl::Status s = visitor->OnHeader(r.header()); !s.ok()) return s;
  }
  Parser parser(r, visitor);
  for (;;) {
    absl::StatusOr<Block> block = r.Next();
    if (!block.ok()) return block.status();
    if (block->section == Section::kFooter) {
      uint64_t footer_offset = block->payload_offset - kBlockHeaderBytes;
      if (absl::Status s = parser.CheckCounts(r.footer(), footer_offset);
          !s.ok()) {
        return s;
      }
      break;
    }
    if (absl::Status s = parser.ParseBlock(*block); !s.ok()) return s;
  }
  ParseSummary summary;
  summary.header = r.header();
  summary.footer = r.footer();
  summary.string_bytes = r.SectionBytes(Section::kStrings);
  summary.series_bytes = r.SectionBytes(Section::kSeries);
  summary.frame_bytes = r.SectionBytes(Section::kFrames);
  summary.chunk_bytes = r.SectionBytes(Section::kChunks);
  summary.frames = parser.frames();
  summary.sealed_chunks = parser.sealed_chunks();
  summary.footer_bytes = r.SectionBytes(Section::kFooter);
  summary.data_blocks = r.footer().block_count;
  return summary;
}

}  // namespace keel::snapshot::snapshot_internal
