#include "snapshot/writer.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <deque>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/io/atomic_file.h"
#include "core/io/little_endian.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/xor_chunk.h"
#include "snapshot/internal/block_writer.h"
#include "snapshot/internal/format.h"
#include "snapshot/internal/frame_plan.h"
#include "snapshot/internal/scratch_arena.h"

namespace keel::snapshot {
namespace {

using core::AtomicFile;
using snapshot_internal::BlockWriter;
using snapshot_internal::FramePlan;
using snapshot_internal::kBlockHeaderBytes;
using snapshot_internal::kChunkRecordFixedBytes;
using snapshot_internal::kFooterPayloadBytes;
using snapshot_internal::kFrameRecordFixedBytes;
using snapshot_internal::kHeaderBytes;
using snapshot_internal::kSealedChunkBytes;
using snapshot_internal::Section;
using snapshot_internal::SectionPlan;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A chunk of the cut, by position: entry (file series number) and index.
struct ChunkPos {
  int64_t min_time;
  uint32_t series;
  uint32_t chunk;
};

// The string table: every distinct label name and value, numbered in order
// of first use. Views point into the cut, which outlives the table.
class StringTable {
 public:
  uint32_t Intern(std::string_view s) {
    auto [it, inserted] =
        ids_.try_emplace(s, static_cast<uint32_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  uint32_t Find(std::string_view s) const { return ids_.find(s)->second; }
  const std::vector<std::string_view>& strings() const { return strings_; }

 private:
  absl::flat_hash_map<std::string_view, uint32_t> ids_;
  std::vector<std::string_view> strings_;
};

// Every entry's chunks as the file holds them: the cut's own lists, not
// copies (a copy was 40 bytes a chunk, most of a large write's memory).
// Format v1 knows only XOR, so there (`expand`) a sealed entry
// (kSealedEncoding) is written as the XOR chunks ingestion would have cut,
// whose records `expanded` and bytes `owned` keep, and a restore seals them
// again; v2 names the entry in its frame.
using FileChunks = std::vector<std::span<const core::ChunkData>>;

FileChunks FileChunksOf(const core::SeriesSet& cut, bool expand,
                        std::deque<std::vector<core::ChunkData>>& expanded,
                        std::deque<std::vector<uint8_t>>& owned) {
  constexpr std::size_t kSamples = 120;  // SeriesStoreOptions' default cut
  FileChunks out(cut.series().size());
  core::core_internal::SealedDecoder decoder;
  int64_t t[kSamples];
  uint64_t bits[kSamples];
  for (std::size_t e = 0; e < out.size(); ++e) {
    const std::span<const core::ChunkData> chunks = cut.series()[e].chunks;
    if (!expand || std::none_of(chunks.begin(), chunks.end(),
                                [](const core::ChunkData& c) {
                                  return c.encoding == core::kSealedEncoding;
                                })) {
      out[e] = chunks;
      continue;
    }
    std::vector<core::ChunkData>& list = expanded.emplace_back();
    for (const core::ChunkData& c : chunks) {
      if (c.encoding != core::kSealedEncoding) {
        list.push_back(c);
        continue;
      }
      // The store checked the entry when it sealed it.
      (void)decoder.Open(c.bytes.data());
      while (std::size_t n = decoder.Decode(t, bits, kSamples)) {
        core::XorChunk x;
        for (std::size_t i = 0; i < n; ++i) {
          x.Append(t[i], std::bit_cast<double>(bits[i]));
        }
        owned.emplace_back(x.bytes().begin(), x.bytes().end());
        list.push_back({t[0], t[n - 1], static_cast<uint16_t>(n),
                        core::kXorEncoding, owned.back()});
      }
    }
    out[e] = list;
  }
  return out;
}

// A chunk record's bytes: the chunk's, or for a sealed entry (v2) the
// frame number and offset, whose size is all the plan needs.
std::span<const uint8_t> RecordBytesOf(const core::ChunkData& c) {
  static constexpr uint8_t kRef[kSealedChunkBytes] = {};
  return c.encoding == core::kSealedEncoding ? std::span<const uint8_t>(kRef)
                                             : c.bytes;
}

std::vector<ChunkPos> ChunkOrderOf(const FileChunks& chunks_of,
                                   const WriteOptions& options) {
  std::vector<ChunkPos> order;
  std::vector<uint32_t> series(chunks_of.size());
  std::iota(series.begin(), series.end(), 0u);
  if (options.order == ChunkOrder::kSeriesRandom) {
    std::mt19937_64 rng(options.random_seed);
    std::shuffle(series.begin(), series.end(), rng);
  }
  for (uint32_t s : series) {
    const auto& chunks = chunks_of[s];
    for (uint32_t c = 0; c < chunks.size(); ++c) {
      order.push_back({chunks[c].min_time, s, c});
    }
  }
  if (options.order == ChunkOrder::kChronological) {
    std::sort(order.begin(), order.end(),
              [](const ChunkPos& a, const ChunkPos& b) {
                return a.min_time != b.min_time ? a.min_time < b.min_time
                                                : a.series < b.series;
              });
  }
  return order;
}

absl::Status CheckOptions(const WriteOptions& o) {
  if (o.version < snapshot_internal::kOldestVersion ||
      o.version > snapshot_internal::kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot version ", o.version, " outside ",
                     snapshot_internal::kOldestVersion, " .. ",
                     snapshot_internal::kVersion));
  }
  if (o.keep < 1) {
    return absl::InvalidArgumentError("snapshot keep must be at least 1");
  }
  if (o.block_payload < 4096 ||
      o.block_payload > snapshot_internal::kMaxBlockPayloadBound) {
    return absl::InvalidArgumentError(absl::StrCat(
        "snapshot block payload ", o.block_payload, " outside 4096 .. ",
        snapshot_internal::kMaxBlockPayloadBound));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WriteStats> WriteSnapshot(const core::SeriesStore& store,
                                         const std::string& path,
                                         const WriteOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  const Clock::time_point start = Clock::now();
  snapshot_internal::ScratchArena scratch;
  const core::SeriesSet cut = store.Cut();
  WriteStats stats;
  stats.cut_seconds = SecondsSince(start);
  auto entries = cut.series();

  StringTable table;
  SectionPlan string_plan(options.block_payload);
  SectionPlan series_plan(options.block_payload);
  SectionPlan chunk_plan(options.block_payload);
  for (const auto& e : entries) {
    for (const core::Label& l : e.labels) {
      for (std::string_view s :
           {std::string_view(l.name), std::string_view(l.value)}) {
        size_t before = table.strings().size();
        table.Intern(s);
        if (table.strings().size() != before) string_plan.Add(4 + s.size());
      }
    }
    series_plan.Add(4 + 8 * e.labels.size());
  }
  std::deque<std::vector<core::ChunkData>> expanded;
  std::deque<std::vector<uint8_t>> owned;
  const bool frames = options.version >= 2;
  const FileChunks chunks_of = FileChunksOf(cut, !frames, expanded, owned);
  const std::vector<ChunkPos> order = ChunkOrderOf(chunks_of, options);
  std::optional<FramePlan> frame_plan;
  if (frames) frame_plan.emplace(cut, store);
  SectionPlan frame_section(options.block_payload);
  size_t largest_record = 0;
  if (frames) {
    for (std::span<const uint8_t> f : frame_plan->frames()) {
      frame_section.Add(kFrameRecordFixedBytes + f.size());
      largest_record =
          std::max(largest_record, kFrameRecordFixedBytes + f.size());
    }
  }
  for (const ChunkPos& p : order) {
    size_t n = kChunkRecordFixedBytes +
               RecordBytesOf(chunks_of[p.series][p.chunk]).size();
    chunk_plan.Add(n);
    largest_record = std::max(largest_record, n);
  }
  for (std::string_view s : table.strings()) {
    largest_record = std::max(largest_record, 4 + s.size());
  }
  for (const auto& e : entries) {
    largest_record = std::max(largest_record, 4 + 8 * e.labels.size());
  }

  snapshot_internal::Header header;
  header.version = options.version;
  header.flags = options.order == ChunkOrder::kSeriesRandom
                     ? snapshot_internal::kFlagRandomOrder
                     : 0;
  header.created_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  header.string_count = table.strings().size();
  header.series_count = entries.size();
  header.chunk_count = order.size();
  header.file_bytes = kHeaderBytes + string_plan.bytes() + series_plan.bytes() +
                      frame_section.bytes() + chunk_plan.bytes() +
                      kBlockHeaderBytes + kFooterPayloadBytes;
  header.largest_block_payload = static_cast<uint32_t>(std::max(
      {string_plan.largest_payload(), series_plan.largest_payload(),
       frame_section.largest_payload(), chunk_plan.largest_payload()}));
  if (entries.size() > UINT32_MAX ||
      header.largest_block_payload > snapshot_internal::kMaxReadBuffer) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot of ", path, ": store too large for the format (",
                     entries.size(), " series, largest block ",
                     header.largest_block_payload, " bytes)"));
  }

  absl::StatusOr<AtomicFile> file = AtomicFile::Create(path, header.file_bytes);
  if (!file.ok()) return file.status();
  BlockWriter blocks(*file, options.block_payload, largest_record);
  stats.buffer_bytes = kBlockHeaderBytes +
                       std::max<size_t>(options.block_payload, largest_record);
  uint8_t head[kHeaderBytes];
  snapshot_internal::EncodeHeader(header, head);
  absl::Status st = blocks.WriteHeader(head);

  if (st.ok()) st = blocks.StartSection(Section::kStrings);
  for (size_t i = 0; st.ok() && i < table.strings().size(); ++i) {
    std::string_view s = table.strings()[i];
    absl::StatusOr<uint8_t*> r = blocks.AddRecord(4 + s.size());
    if (!r.ok()) {
      st = r.status();
      break;
    }
    core::PutU32(*r, static_cast<uint32_t>(s.size()));
    std::memcpy(*r + 4, s.data(), s.size());
  }
  if (st.ok()) st = blocks.StartSection(Section::kSeries);
  for (size_t i = 0; st.ok() && i < entries.size(); ++i) {
    const core::Labels& labels = entries[i].labels;
    absl::StatusOr<uint8_t*> r = blocks.AddRecord(4 + 8 * labels.size());
    if (!r.ok()) {
      st = r.status();
      break;
    }
    uint8_t* p = *r;
    core::PutU32(p, static_cast<uint32_t>(labels.size()));
    for (size_t j = 0; j < labels.size(); ++j) {
      core::PutU32(p + 4 + 8 * j, table.Find(labels[j].name));
      core::PutU32(p + 8 + 8 * j, table.Find(labels[j].value));
    }
  }
  if (frames && st.ok()) st = blocks.StartSection(Section::kFrames);
  for (size_t i = 0; frames && st.ok() && i < frame_plan->frames().size();
       ++i) {
    std::span<const uint8_t> f = frame_plan->frames()[i];
    absl::StatusOr<uint8_t*> r =
        blocks.AddRecord(kFrameRecordFixedBytes + f.size());
    if (!r.ok()) {
      st = r.status();
      break;
    }
    core::PutU32(*r, frame_plan->group_bytes()[i]);
    core::PutU32(*r + 4, static_cast<uint32_t>(f.size()));
    std::memcpy(*r + kFrameRecordFixedBytes, f.data(), f.size());
  }
  snapshot_internal::Footer footer;
  if (st.ok()) st = blocks.StartSection(Section::kChunks);
  for (size_t i = 0; st.ok() && i < order.size(); ++i) {
    const ChunkPos& pos = order[i];
    const core::ChunkData& c = chunks_of[pos.series][pos.chunk];
    uint8_t ref[kSealedChunkBytes];
    std::span<const uint8_t> bytes = c.bytes;
    if (c.encoding == core::kSealedEncoding) {
      FramePlan::Ref at = frame_plan->RefOf(c.bytes.data());
      core::PutU32(ref, at.frame);
      core::PutU32(ref + 4, at.offset);
      bytes = ref;
    }
    absl::StatusOr<uint8_t*> r =
        blocks.AddRecord(kChunkRecordFixedBytes + bytes.size());
    if (!r.ok()) {
      st = r.status();
      break;
    }
    uint8_t* p = *r;
    core::PutU32(p, pos.series);
    core::PutI64(p + 4, c.min_time);
    core::PutI64(p + 12, c.max_time);
    core::PutU32(p + 20, c.samples);
    p[24] = c.encoding;
    core::PutU32(p + 25, static_cast<uint32_t>(bytes.size()));
    std::memcpy(p + kChunkRecordFixedBytes, bytes.data(), bytes.size());
    footer.sample_count += c.samples;
    footer.chunk_bytes += bytes.size();
    if (i == 0 || c.min_time < footer.min_time) footer.min_time = c.min_time;
    if (i == 0 || c.max_time > footer.max_time) footer.max_time = c.max_time;
  }
  if (st.ok()) st = blocks.WriteFooter(footer);
  if (st.ok()) st = file->Commit(options.keep);
  if (!st.ok()) return st;

  stats.bytes = header.file_bytes;
  stats.strings = header.string_count;
  stats.series = header.series_count;
  stats.chunks = header.chunk_count;
  stats.samples = footer.sample_count;
  stats.write_seconds = SecondsSince(start);
  return stats;
}

}  // namespace keel::snapshot
