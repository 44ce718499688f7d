// ForwardRecord: the samples one write accepted, encoded once for the
// remote-write queue (forward_queue.h) and read back by its senders.
//
// A record is a run of entries, one per series; an entry is a 24-byte
// header (series hash, sample count, newest timestamp, length) and the
// series as a remote-write 1.0 prompb.TimeSeries message. A sender builds
// its WriteRequest by prefixing each entry's message with the field tag
// and length of WriteRequest.timeseries, with no re-encoding; the stored
// hash picks the sender shard, so a series keeps its shard, and its order,
// across restarts.
//
//   ForwardRecord record;
//   record.BeginSeries();
//   record.AddLabel("__name__", "up");
//   record.AddSample(1700000000000, 1.0);
//   record.EndSeries();                     // dropped when it has no sample
//   ForEachForwardEntry(record.bytes(), [](size_t i, const ForwardEntry& e) {
//     ...
//     return true;  // on to the next entry
//   });
//
// Thread safety: a ForwardRecord is one thread's; the readers are pure.
#ifndef KEEL_TOOLS_SERVER_FORWARD_FORWARD_RECORD_H_
#define KEEL_TOOLS_SERVER_FORWARD_FORWARD_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "alloc/arena_allocator.h"

namespace keel::tools {

inline constexpr size_t kForwardEntryHeaderBytes = 24;

// The queue's and senders' buffers: in the remote-write arena, so that
// their memory shows in the allocator metrics.
using ForwardBuffer = std::basic_string<char, std::char_traits<char>,
                                        alloc::ArenaAllocator<char>>;

class ForwardRecord {
 public:
  // Starts a series; labels, then samples, follow.
  void BeginSeries();
  void AddLabel(std::string_view name, std::string_view value);
  void AddSample(int64_t t_ms, double v);
  // Ends the series, or takes it back when it holds no sample.
  void EndSeries();

  bool empty() const { return bytes_.empty(); }
  uint64_t samples() const { return samples_; }
  int64_t max_timestamp_ms() const { return max_t_; }
  std::string_view bytes() const { return bytes_; }
  void Clear();

 private:
  std::string bytes_;
  size_t series_start_ = 0;  // of the open series' header
  uint32_t series_hash_ = 0;
  uint32_t series_samples_ = 0;
  int64_t series_max_t_ = 0;
  uint64_t samples_ = 0;
  int64_t max_t_ = INT64_MIN;
};

struct ForwardEntry {
  uint32_t hash = 0;  // of the labels; the shard is hash % shards
  uint32_t samples = 0;
  int64_t max_timestamp_ms = 0;
  std::string_view series;  // a prompb.TimeSeries message
};

// Calls `fn` on each entry of a record, in order, with its index, until
// it returns false. Errors (InvalidArgument, naming the entry's byte
// offset) when an entry runs past the record's end: a record that passed
// its checksum never does.
absl::Status ForEachForwardEntry(
    std::string_view record,
    absl::FunctionRef<bool(size_t index, const ForwardEntry&)> fn);

// Appends an entry's series (a prompb.TimeSeries message) to `out` as one
// WriteRequest.timeseries field.
void AppendAsWriteRequestField(std::string_view series, ForwardBuffer* out);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FORWARD_FORWARD_RECORD_H_
