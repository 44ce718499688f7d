#include "keel/snapshot/reader.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/snapshot/internal/format.h"
#include "keel/snapshot/internal/record_parser.h"

namespace keel::snapshot {
namespace {

using snapshot_internal::ChunkRecord;
using snapshot_internal::LabelRef;

SnapshotInfo InfoOf(const snapshot_internal::ParseSummary& s) {
  SnapshotInfo info;
  info.version = s.header.version;
  info.random_order =
      (s.header.flags & snapshot_internal::kFlagRandomOrder) != 0;
  info.created_unix_ms = s.header.created_unix_ms;
  info.file_bytes = s.header.file_bytes;
  info.strings = s.header.string_count;
  info.series = s.header.series_count;
  info.chunks = s.header.chunk_count;
  info.samples = s.footer.sample_count;
  info.chunk_data_bytes = s.footer.chunk_bytes;
  info.min_time = s.footer.min_time;
  info.max_time = s.footer.max_time;
  info.blocks = s.data_blocks;
  info.largest_block = s.header.largest_block_payload;
  info.header_section_bytes = snapshot_internal::kHeaderBytes;
  info.string_section_bytes = s.string_bytes;
  info.series_section_bytes = s.series_bytes;
  info.chunk_section_bytes = s.chunk_bytes;
  info.footer_section_bytes = s.footer_bytes;
  return info;
}

// Feeds the records into a fresh store through its bulk restore.
class Restorer : public snapshot_internal::RecordVisitor {
 public:
  explicit Restorer(core::SeriesStore& store) : store_(store) {}

  absl::Status OnHeader(const snapshot_internal::Header& h) override {
    // The header's counts are checked against the records only at the end:
    // bound the sizes they reserve by what a file this long can hold.
    uint64_t bytes = h.file_bytes;
    core::RestoreSizes sizes;
    sizes.strings = std::min<uint64_t>(h.string_count, bytes / 4);
    sizes.series = std::min<uint64_t>(h.series_count, bytes / 12);
    sizes.chunks = std::min<uint64_t>(
        h.chunk_count, bytes / (snapshot_internal::kChunkRecordFixedBytes + 3));
    absl::StatusOr<core::SeriesRestorer> restorer = store_.BeginRestore(sizes);
    if (!restorer.ok()) return restorer.status();
    restorer_.emplace(std::move(*restorer));
    refs_.reserve(sizes.series);
    return absl::OkStatus();
  }

  absl::Status OnString(uint32_t, std::string_view s) override {
    restorer_->AddString(s);
    return absl::OkStatus();
  }

  absl::Status OnSeries(uint32_t series,
                        std::span<const LabelRef> labels) override {
    absl::StatusOr<core::SeriesRef> ref = restorer_->AddSeries(labels);
    if (!ref.ok()) return ref.status();
    if (series != refs_.size()) {
      return absl::InternalError("series numbers out of sequence");
    }
    refs_.push_back(*ref);
    return absl::OkStatus();
  }

  absl::Status OnChunk(const ChunkRecord& c) override {
    if (c.sample_count > std::numeric_limits<uint16_t>::max()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sample count ", c.sample_count, " exceeds a chunk's 65535"));
    }
    core::ChunkData data;
    data.min_time = c.min_time;
    data.max_time = c.max_time;
    data.samples = static_cast<uint16_t>(c.sample_count);
    data.encoding = c.encoding;
    data.bytes = c.bytes;
    return restorer_->AddChunk(refs_[c.series], data);
  }

  // Builds what the restore defers and hands the store back.
  void Finish() {
    if (restorer_.has_value()) restorer_->Finish();
  }

 private:
  core::SeriesStore& store_;
  std::optional<core::SeriesRestorer> restorer_;
  std::vector<core::SeriesRef> refs_;
};

}  // namespace

absl::StatusOr<SnapshotInfo> VerifySnapshot(const std::string& path) {
  absl::StatusOr<snapshot_internal::ParseSummary> summary =
      snapshot_internal::ParseSnapshot(path, nullptr);
  if (!summary.ok()) return summary.status();
  return InfoOf(*summary);
}

absl::StatusOr<std::unique_ptr<core::SeriesStore>> RestoreSnapshot(
    const std::string& path, const core::SeriesStoreOptions& options,
    RestoreStats* stats) {
  auto start = std::chrono::steady_clock::now();
  auto store = std::make_unique<core::SeriesStore>(options);
  Restorer restorer(*store);
  absl::StatusOr<snapshot_internal::ParseSummary> summary =
      snapshot_internal::ParseSnapshot(path, &restorer);
  if (!summary.ok()) return summary.status();
  restorer.Finish();
  if (stats != nullptr) {
    stats->info = InfoOf(*summary);
    stats->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
  return store;
}

}  // namespace keel::snapshot
