#include "tools/server/remote_write.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <snappy.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"

namespace keel::tools {

using google::protobuf::internal::WireFormatLite;

absl::StatusOr<size_t> RemoteWriteDecodedSize(std::string_view body,
                                              const RemoteWriteLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote-write body of ", body.size(),
                     " bytes exceeds the limit of ", limits.max_body_bytes));
  }
  size_t decoded_size = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &decoded_size)) {
    return absl::InvalidArgumentError(
        "remote-write body is not snappy block format (bad length header)");
  }
  if (decoded_size > limits.max_decoded_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote-write body decodes to ", decoded_size,
                     " bytes, over the limit of ", limits.max_decoded_bytes));
  }
  return decoded_size;
}

absl::Status UncompressRemoteWrite(std::string_view body,
                                   const RemoteWriteLimits& limits,
                                   std::string* decoded) {
  if (auto size = RemoteWriteDecodedSize(body, limits); !size.ok()) {
    return size.status();
  }
  if (!snappy::Uncompress(body.data(), body.size(), decoded)) {
    return absl::InvalidArgumentError(
        "remote-write body is corrupt snappy data");
  }
  return absl::OkStatus();
}

namespace {

// Calls `fn` on each length-delimited field `field` of a WriteRequest,
// parsed into `message`; `what` names it in errors.
template <typename Message, typename Fn>
absl::Status ForEachField(std::string_view decoded, int field,
                          std::string_view what, std::string_view type,
                          Message& message, Fn fn) {
  // The limits bound `decoded` far below 2 GiB, CodedInputStream's range.
  const auto* data = reinterpret_cast<const uint8_t*>(decoded.data());
  const int size = static_cast<int>(decoded.size());
  google::protobuf::io::CodedInputStream in(data, size);
  uint64_t index = 0;
  auto bad = [&](int offset, std::string_view reason) {
    return absl::InvalidArgumentError(absl::StrCat(
        "remote-write body is not a protobuf WriteRequest (", decoded.size(),
        " bytes after snappy): ", std::string(reason), " at byte ", offset));
  };
  while (true) {
    const int offset = in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (offset == size) return absl::OkStatus();
      return bad(offset, "bad field tag");
    }
    if (WireFormatLite::GetTagFieldNumber(tag) == field &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length) ||
          length > static_cast<uint32_t>(size - in.CurrentPosition())) {
        return bad(offset,
                   absl::StrCat(std::string(what), " ", index, ": bad length"));
      }
      const int start = in.CurrentPosition();
      if (!message.ParseFromArray(data + start, static_cast<int>(length))) {
        return bad(start, absl::StrCat(std::string(what), " ", index,
                                       " is not a ", std::string(type)));
      }
      in.Skip(static_cast<int>(length));
      fn(message);
      ++index;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return bad(offset,
                 absl::StrCat("field ", WireFormatLite::GetTagFieldNumber(tag),
                              " is malformed"));
    }
  }
}

}  // namespace

absl::Status ForEachRemoteWriteSeries(
    std::string_view decoded,
    absl::FunctionRef<void(const prompb::TimeSeries&)> fn) {
  prompb::TimeSeries series;
  return ForEachField(decoded, 1, "series", "TimeSeries", series, fn);
}

absl::Status ForEachRemoteWriteMetadata(
    std::string_view decoded,
    absl::FunctionRef<void(const prompb::MetricMetadata&)> fn) {
  prompb::MetricMetadata metadata;
  return ForEachField(decoded, 4, "metadata", "MetricMetadata", metadata, fn);
}

absl::StatusOr<prompb::WriteRequest> DecodeRemoteWrite(
    std::string_view body, const RemoteWriteLimits& limits) {
  std::string decoded;
  if (absl::Status s = UncompressRemoteWrite(body, limits, &decoded); !s.ok()) {
    return s;
  }
  prompb::WriteRequest request;
  absl::Status s =
      ForEachRemoteWriteSeries(decoded, [&](const prompb::TimeSeries& series) {
        *request.add_timeseries() = series;
      });
  if (!s.ok()) return s;
  return request;
}

bool DecodedBudget::Acquire(uint64_t bytes, absl::Duration wait) {
  if (bytes > capacity_) return false;
  std::unique_lock lock(mu_);
  if (capacity_ - in_use_ < bytes) {
    ++waiting_;
    bool fits = freed_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                                [&] { return capacity_ - in_use_ >= bytes; });
    --waiting_;
    if (!fits) return false;
  }
  in_use_ += bytes;
  return true;
}

void DecodedBudget::Release(uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    in_use_ -= bytes;
  }
  freed_.notify_all();
}

uint64_t DecodedBudget::in_use() const {
  std::lock_guard lock(mu_);
  return in_use_;
}

uint64_t DecodedBudget::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

}  // namespace keel::tools
