// Forwarder: keel serve's remote-write forwarding, assembled: the on-disk
// queue in <data-dir>/remote-write (ForwardQueue), a RemoteWriteSender per
// destination, their memory in the "remote_write" arena, and the write
// path's two calls.
//
// The write path (PromApi) asks AdmitWrite before it stores anything (a
// full queue answers 429 with Retry-After, so that the sender keeps the
// samples and tries later rather than keel dropping them), then stores
// the samples, collects those the store appended (not duplicates or
// rejected ones) in a ForwardRecord, and calls Commit, which returns once
// the record is on disk: only then does the request answer 2xx. So every
// acknowledged sample is in the queue, and a sample sent again by a client
// that missed the answer is a duplicate in the store and is not forwarded
// twice.
//
// The queue doubles as the store's write-ahead log: after a snapshot,
// SetReplayFrom records the queue position the snapshot holds everything
// before, and Replay, at start after the snapshot's restore, appends the
// records after it to the store. A restart after a SIGKILL thus has every
// acknowledged sample in the store too (and a client's resend of them is
// a duplicate, not forwarded again).
//
//   auto forwarder = Forwarder::Open(config);      // config.remote_write
//   RETURN_IF_ERROR((*forwarder)->Replay(store));  // after the restore
//   RETURN_IF_ERROR((*forwarder)->StartSending());
//   ... writes: AdmitWrite, store, Commit ...
//   uint64_t at = (*forwarder)->queue_end();       // then snapshot, then
//   (*forwarder)->SetReplayFrom(at);
//   (*forwarder)->Stop();
//
// Thread safety: AdmitWrite, Commit and the accessors may run on any
// thread; Open, Replay, StartSending and Stop on one.
#ifndef KEEL_TOOLS_SERVER_FORWARD_FORWARDER_H_
#define KEEL_TOOLS_SERVER_FORWARD_FORWARDER_H_

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "alloc/arena.h"
#include "core/series/series_store.h"
#include "tools/server/forward/forward_queue.h"
#include "tools/server/forward/forward_record.h"
#include "tools/server/forward/remote_write_sender.h"
#include "tools/server/serve_config.h"

namespace keel::tools {

class Forwarder {
 public:
  // Opens (and checks) the queue. REQUIRES: config.remote_write is not
  // empty and config.data_dir is set.
  static absl::StatusOr<std::unique_ptr<Forwarder>> Open(
      const ServeConfig& config);
  ~Forwarder();

  // Appends the queue's records after the replay position to `store`;
  // logs what it did. Errors: the queue's files.
  absl::Status Replay(core::SeriesStore& store);
  // Starts a sender per destination. Errors: their token files, cursors.
  absl::Status StartSending();
  // Stops the senders (the queue keeps what they did not deliver).
  void Stop();

  // False, counted, when the queue is full: answer 429.
  bool AdmitWrite();
  // Puts the record in the queue; returns once it is durable.
  absl::Status Commit(const ForwardRecord& record) {
    return queue_->Append(record);
  }

  uint64_t queue_end() const { return queue_->end(); }
  absl::Status SetReplayFrom(uint64_t position) {
    return queue_->SetReplayFrom(position);
  }

  const ForwardQueue& queue() const { return *queue_; }
  const std::vector<std::unique_ptr<RemoteWriteSender>>& senders() const {
    return senders_;
  }
  // Writes answered 429 because the queue was full.
  uint64_t refused_writes() const { return refused_writes_.load(); }

 private:
  explicit Forwarder(const ServeConfig& config);

  const std::vector<RemoteWriteDestination> destinations_;
  // Declared before the queue and the senders: destroyed after them.
  std::unique_ptr<alloc::Arena> arena_;
  std::unique_ptr<ForwardQueue> queue_;
  std::vector<std::unique_ptr<RemoteWriteSender>> senders_;
  std::atomic<uint64_t> refused_writes_{0};
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FORWARD_FORWARDER_H_
