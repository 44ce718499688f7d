// Reading Prometheus remote-write 1.0 bodies (snappy block format around a
// protobuf WriteRequest) and bounding the memory concurrent writes decode.
//
// The server's path, in three steps, so that memory is committed only once
// the budget allows it and the decoded request costs about its own size:
//
//   absl::StatusOr<size_t> size = RemoteWriteDecodedSize(body, limits);
//   DecodedBudget::Lease lease(budget, *size, absl::Seconds(1));  // or 503
//   std::string decoded;
//   absl::Status s = UncompressRemoteWrite(body, limits, &decoded);
//   s = ForEachRemoteWriteSeries(decoded, [&](const prompb::TimeSeries& ts) {
//     ...  // one series at a time, in a reused message
//   });
//
// DecodeRemoteWrite does all three into one WriteRequest, for tools and
// tests that want the whole message (materialized, it costs several times
// the decoded size: the server never does this).
//
// The decoded size is read from the snappy header and checked against the
// limit before anything is decompressed, so a small body cannot make the
// server allocate a large buffer. Errors (InvalidArgument) say which step
// failed: the limits, snappy, or protobuf (with the series' number and byte
// offset).
//
// Thread safety: the functions are pure; DecodedBudget is thread-safe.
#ifndef KEEL_TOOLS_SERVER_REMOTE_WRITE_H_
#define KEEL_TOOLS_SERVER_REMOTE_WRITE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "remote_write.pb.h"

namespace keel::tools {

struct RemoteWriteLimits {
  size_t max_body_bytes = 8 << 20;      // compressed, as received
  size_t max_decoded_bytes = 64 << 20;  // the protobuf after snappy
};

// The size `body` decodes to, from its snappy header, once both limits hold.
absl::StatusOr<size_t> RemoteWriteDecodedSize(std::string_view body,
                                              const RemoteWriteLimits& limits);

// Decompresses `body` into `*decoded` (checking the limits again).
absl::Status UncompressRemoteWrite(std::string_view body,
                                   const RemoteWriteLimits& limits,
                                   std::string* decoded);

// Calls `fn` for each series of a decoded WriteRequest, in order, parsing
// one series at a time into one reused message; other fields (metadata,
// unknown ones) are skipped as the protobuf parser would. On malformed
// input returns the error after the series before it were visited: a
// caller that must not act on half a request visits twice, first with a
// no-op.
absl::Status ForEachRemoteWriteSeries(
    std::string_view decoded,
    absl::FunctionRef<void(const prompb::TimeSeries&)> fn);

// Calls `fn` for each metric metadata entry (WriteRequest field 4) of a
// decoded WriteRequest, skipping everything else; errors as above.
absl::Status ForEachRemoteWriteMetadata(
    std::string_view decoded,
    absl::FunctionRef<void(const prompb::MetricMetadata&)> fn);

// The three steps above into one message (its series only).
absl::StatusOr<prompb::WriteRequest> DecodeRemoteWrite(
    std::string_view body, const RemoteWriteLimits& limits);

// DecodedBudget: the bytes that concurrent remote-write requests may hold
// decoded at once. A per-request limit alone lets N concurrent requests
// hold N times it; this bounds the sum.
class DecodedBudget {
 public:
  explicit DecodedBudget(uint64_t capacity) : capacity_(capacity) {}
  DecodedBudget(const DecodedBudget&) = delete;
  DecodedBudget& operator=(const DecodedBudget&) = delete;

  // Takes `bytes` once they fit, waiting at most `wait`. False if they did
  // not fit in time, or never can (more than the capacity).
  bool Acquire(uint64_t bytes, absl::Duration wait);
  void Release(uint64_t bytes);

  // Holds `bytes` of `budget` for its lifetime when ok().
  class Lease {
   public:
    Lease(DecodedBudget& budget, uint64_t bytes, absl::Duration wait)
        : budget_(budget), bytes_(bytes), ok_(budget.Acquire(bytes, wait)) {}
    ~Lease() {
      if (ok_) budget_.Release(bytes_);
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    bool ok() const { return ok_; }

   private:
    DecodedBudget& budget_;
    const uint64_t bytes_;
    const bool ok_;
  };

  uint64_t capacity() const { return capacity_; }
  uint64_t in_use() const;
  uint64_t waiting() const;  // requests waiting for room now

 private:
  const uint64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  uint64_t in_use_ = 0;   // guarded by mu_
  uint64_t waiting_ = 0;  // guarded by mu_
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_REMOTE_WRITE_H_
