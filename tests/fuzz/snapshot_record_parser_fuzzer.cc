// The snapshot record parser (snapshot/internal/record_parser.h): the input
// is a snapshot file, its framing repaired (snapshot_fixup.h) so that
// mutated records pass the CRCs. A visitor checks what the parser promises
// it: strings and series numbered in file order, every label's string
// numbers and every chunk's series number below those already read, chunk
// bounds ordered, counts matching the header; it also decodes each XOR
// chunk, as a restore does.
#include <cstdint>
#include <string>
#include <vector>

#include "core/series/xor_chunk.h"
#include "snapshot/internal/record_parser.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/snapshot_fixup.h"

namespace {

namespace si = keel::snapshot::snapshot_internal;

class CheckingVisitor : public si::RecordVisitor {
 public:
  absl::Status OnHeader(const si::Header& header) override {
    FUZZ_CHECK(!header_seen_);
    header_seen_ = true;
    header_ = header;
    return absl::OkStatus();
  }
  absl::Status OnString(uint32_t index, std::string_view) override {
    FUZZ_CHECK(header_seen_ && series_ == 0 && chunks_ == 0);
    FUZZ_CHECK(index == strings_) << index << " after " << strings_;
    ++strings_;
    return absl::OkStatus();
  }
  absl::Status OnSeries(uint32_t series,
                        std::span<const si::LabelRef> labels) override {
    FUZZ_CHECK(chunks_ == 0);
    FUZZ_CHECK(series == series_) << series << " after " << series_;
    for (const si::LabelRef& l : labels) {
      FUZZ_CHECK(l.name < strings_ && l.value < strings_)
          << "series " << series;
    }
    ++series_;
    return absl::OkStatus();
  }
  absl::Status OnChunk(const si::ChunkRecord& chunk) override {
    FUZZ_CHECK(chunk.series < series_) << chunk.series;
    FUZZ_CHECK(chunk.min_time <= chunk.max_time);
    ++chunks_;
    if (chunk.encoding == 1 && !chunk.bytes.empty()) {
      keel::core::XorIterator it(chunk.bytes);
      uint32_t decoded = 0;
      while (it.Next() && decoded <= 65536) ++decoded;
      (void)it.status();
    }
    return absl::OkStatus();
  }

  bool header_seen_ = false;
  si::Header header_;
  uint64_t strings_ = 0;
  uint64_t series_ = 0;
  uint64_t chunks_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(keel::fuzz::AsText(data, size));
  keel::fuzz::RepairSnapshot(bytes);
  keel::fuzz::MemFile file(bytes);
  CheckingVisitor visitor;
  auto summary = si::ParseSnapshot(file.path(), &visitor);
  auto verified = si::ParseSnapshot(file.path(), nullptr);
  FUZZ_CHECK(summary.ok() == verified.ok())
      << summary.status() << " vs " << verified.status();
  if (!summary.ok()) return 0;
  FUZZ_CHECK(visitor.header_seen_);
  FUZZ_CHECK(visitor.strings_ == summary->header.string_count &&
             visitor.series_ == summary->header.series_count &&
             visitor.chunks_ == summary->header.chunk_count)
      << visitor.strings_ << "/" << visitor.series_ << "/" << visitor.chunks_;
  FUZZ_CHECK(summary->header.file_bytes == bytes.size());
  FUZZ_CHECK(summary->data_blocks == summary->footer.block_count);
  return 0;
}
