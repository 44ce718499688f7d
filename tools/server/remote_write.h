// DecodeRemoteWrite: a Prometheus remote-write 1.0 body (snappy block
// format around a protobuf WriteRequest) into the message.
//
//   absl::StatusOr<prompb::WriteRequest> request =
//       DecodeRemoteWrite(body, RemoteWriteLimits{});
//
// The decoded size is read from the snappy header and checked against the
// limit before anything is decompressed, so a small body cannot make the
// server allocate a large buffer. Errors (InvalidArgument) say which step
// failed: the limits, snappy, or protobuf.
//
// Thread safety: a pure function.
#ifndef KEEL_TOOLS_SERVER_REMOTE_WRITE_H_
#define KEEL_TOOLS_SERVER_REMOTE_WRITE_H_

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"
#include "remote_write.pb.h"

namespace keel::tools {

struct RemoteWriteLimits {
  size_t max_body_bytes = 8 << 20;      // compressed, as received
  size_t max_decoded_bytes = 64 << 20;  // the protobuf after snappy
};

absl::StatusOr<prompb::WriteRequest> DecodeRemoteWrite(
    std::string_view body, const RemoteWriteLimits& limits);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_REMOTE_WRITE_H_
