#include "keel/tools/server/remote_write.h"

#include <snappy.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace keel::tools {

absl::StatusOr<prompb::WriteRequest> DecodeRemoteWrite(
    std::string_view body, const RemoteWriteLimits& limits) {
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
  std::string decoded;
  if (!snappy::Uncompress(body.data(), body.size(), &decoded)) {
    return absl::InvalidArgumentError(
        "remote-write body is corrupt snappy data");
  }
  prompb::WriteRequest request;
  if (!request.ParseFromString(decoded)) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote-write body is not a protobuf WriteRequest (",
                     decoded.size(), " bytes after snappy)"));
  }
  return request;
}

}  // namespace keel::tools
