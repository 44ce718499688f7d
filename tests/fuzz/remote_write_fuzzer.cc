// Prometheus remote-write bodies (tools/server/remote_write.h): the first
// input byte chooses whether the rest is the body as received (snappy
// framing fuzzed) or a protobuf the target compresses first (the message
// fuzzed). A decoded request, serialized and compressed again, decodes to
// the same message; the decoded size limit holds.
#include <snappy.h>

#include <string>

#include "tests/fuzz/fuzz_util.h"
#include "tools/server/remote_write.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  keel::tools::RemoteWriteLimits limits;
  limits.max_body_bytes = 1 << 20;
  limits.max_decoded_bytes = 1 << 20;
  std::string_view rest = keel::fuzz::AsText(data + 1, size - 1);
  std::string body;
  if (data[0] & 1) {
    snappy::Compress(rest.data(), rest.size(), &body);
  } else {
    body.assign(rest);
  }
  auto request = keel::tools::DecodeRemoteWrite(body, limits);
  if (!request.ok()) return 0;
  std::string serialized = request->SerializeAsString();
  FUZZ_CHECK(serialized.size() <= limits.max_decoded_bytes);
  std::string again_body;
  snappy::Compress(serialized.data(), serialized.size(), &again_body);
  auto again = keel::tools::DecodeRemoteWrite(again_body, limits);
  FUZZ_CHECK(again.ok()) << again.status();
  FUZZ_CHECK(again->SerializeAsString() == serialized);
  return 0;
}
