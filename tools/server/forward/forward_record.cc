#include "tools/server/forward/forward_record.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/io/crc32c.h"
#include "core/io/little_endian.h"

namespace keel::tools {
namespace {

// Protobuf wire format: tag = field << 3 | wire type.
constexpr char kLengthDelimited1 = 0x0a;  // field 1, bytes
constexpr char kLengthDelimited2 = 0x12;  // field 2, bytes
constexpr char kFixed64Field1 = 0x09;     // field 1, double
constexpr char kVarintField2 = 0x10;      // field 2, int64

template <typename String>
void PutVarint(uint64_t v, String* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t VarintBytes(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace

void ForwardRecord::BeginSeries() {
  series_start_ = bytes_.size();
  bytes_.append(kForwardEntryHeaderBytes, '\0');
  series_hash_ = 0;
  series_samples_ = 0;
  series_max_t_ = INT64_MIN;
}

void ForwardRecord::AddLabel(std::string_view name, std::string_view value) {
  series_hash_ = core::ExtendCrc32c(series_hash_, name.data(), name.size());
  series_hash_ = core::ExtendCrc32c(series_hash_, "\xff", 1);
  series_hash_ = core::ExtendCrc32c(series_hash_, value.data(), value.size());
  series_hash_ = core::ExtendCrc32c(series_hash_, "\xff", 1);
  const size_t label_bytes = 1 + VarintBytes(name.size()) + name.size() + 1 +
                             VarintBytes(value.size()) + value.size();
  bytes_.push_back(kLengthDelimited1);
  PutVarint(label_bytes, &bytes_);
  bytes_.push_back(kLengthDelimited1);
  PutVarint(name.size(), &bytes_);
  bytes_.append(name);
  bytes_.push_back(kLengthDelimited2);
  PutVarint(value.size(), &bytes_);
  bytes_.append(value);
}

void ForwardRecord::AddSample(int64_t t_ms, double v) {
  const uint64_t t = static_cast<uint64_t>(t_ms);
  bytes_.push_back(kLengthDelimited2);
  PutVarint(1 + 8 + 1 + VarintBytes(t), &bytes_);
  bytes_.push_back(kFixed64Field1);
  uint8_t le[8];
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  core::PutU64(le, bits);
  bytes_.append(reinterpret_cast<const char*>(le), 8);
  bytes_.push_back(kVarintField2);
  PutVarint(t, &bytes_);
  ++series_samples_;
  series_max_t_ = std::max(series_max_t_, t_ms);
}

void ForwardRecord::EndSeries() {
  if (series_samples_ == 0) {
    bytes_.resize(series_start_);
    return;
  }
  auto* header = reinterpret_cast<uint8_t*>(bytes_.data() + series_start_);
  core::PutU32(header, series_hash_);
  core::PutU32(header + 4, series_samples_);
  core::PutI64(header + 8, series_max_t_);
  core::PutU64(header + 16,
               bytes_.size() - series_start_ - kForwardEntryHeaderBytes);
  samples_ += series_samples_;
  max_t_ = std::max(max_t_, series_max_t_);
}

void ForwardRecord::Clear() {
  bytes_.clear();
  samples_ = 0;
  max_t_ = INT64_MIN;
}

absl::Status ForEachForwardEntry(
    std::string_view record,
    absl::FunctionRef<bool(size_t index, const ForwardEntry&)> fn) {
  const auto* p = reinterpret_cast<const uint8_t*>(record.data());
  size_t offset = 0;
  for (size_t index = 0; offset < record.size(); ++index) {
    if (record.size() - offset < kForwardEntryHeaderBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forward record: entry ", index, " at byte ", offset,
          ": header cut short (", record.size() - offset, " bytes left)"));
    }
    ForwardEntry entry;
    entry.hash = core::GetU32(p + offset);
    entry.samples = core::GetU32(p + offset + 4);
    entry.max_timestamp_ms = core::GetI64(p + offset + 8);
    const uint64_t length = core::GetU64(p + offset + 16);
    offset += kForwardEntryHeaderBytes;
    if (length > record.size() - offset) {
      return absl::InvalidArgumentError(
          absl::StrCat("forward record: entry ", index, " at byte ",
                       offset - kForwardEntryHeaderBytes, ": length ", length,
                       " runs past the record's end (", record.size() - offset,
                       " bytes left)"));
    }
    entry.series = record.substr(offset, length);
    offset += length;
    if (!fn(index, entry)) break;
  }
  return absl::OkStatus();
}

void AppendAsWriteRequestField(std::string_view series, ForwardBuffer* out) {
  out->push_back(kLengthDelimited1);
  PutVarint(series.size(), out);
  out->append(series.data(), series.size());
}

}  // namespace keel::tools
