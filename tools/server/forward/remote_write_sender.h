// RemoteWriteSender: forwards the records of a ForwardQueue to one
// Prometheus remote-write 1.0 destination, as Prometheus' queue manager
// does: the series are split over `shards` parallel senders by their hash
// (so each series' samples go in order), each sending batches of up to
// max_samples_per_send samples, or fewer once the oldest has waited
// batch_send_deadline; a batch is one snappy-compressed WriteRequest with
// X-Prometheus-Remote-Write-Version: 0.1.0 (and the destination's auth and
// headers). The shards read the queue through one ForwardSplitCache, so a
// record is read, checked and split by shard once, not once a shard.
//
// An answer 2xx delivers the batch; 5xx, 429 and no answer are retried,
// after Retry-After when the answer has one, else after a backoff that
// doubles from min_backoff to max_backoff; any other 4xx drops the batch
// for good (the destination will not take it), counted as failed and
// logged (at most one line every 10 s). Only a delivered or dropped batch
// moves the shard's cursor (ForwardCursors), so a stop or a crash resends
// exactly the batches in flight, and nothing before them.
//
//   auto sender = RemoteWriteSender::Start(destination, queue.get());
//   ... (*sender)->sent_samples() ...
//   (*sender)->Stop();     // the destructor stops it too
//
// Thread safety: the accessors may run on any thread; Stop once.
// REQUIRES: the queue outlives the sender.
#ifndef KEEL_TOOLS_SERVER_FORWARD_REMOTE_WRITE_SENDER_H_
#define KEEL_TOOLS_SERVER_FORWARD_REMOTE_WRITE_SENDER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/server/forward/forward_cursors.h"
#include "tools/server/forward/forward_queue.h"
#include "tools/server/forward/forward_split_cache.h"
#include "tools/server/serve_config.h"

namespace keel::tools {

class RemoteWriteSender {
 public:
  // Reads the destination's token or password file, opens its cursors
  // (<queue dir>/<name>.cursors) and starts a thread per shard. Errors:
  // the files'.
  static absl::StatusOr<std::unique_ptr<RemoteWriteSender>> Start(
      const RemoteWriteDestination& destination, ForwardQueue* queue);
  ~RemoteWriteSender();
  RemoteWriteSender(const RemoteWriteSender&) = delete;
  RemoteWriteSender& operator=(const RemoteWriteSender&) = delete;

  // Stops the shards: a batch being retried stays unsent, to be sent
  // after a restart. A send in progress ends first (at most `timeout`).
  void Stop();

  const RemoteWriteDestination& destination() const { return destination_; }
  // Samples the destination acknowledged, and their compressed bytes.
  uint64_t sent_samples() const { return sent_samples_.load(); }
  uint64_t sent_bytes() const { return sent_bytes_.load(); }
  // Samples the destination refused for good (4xx other than 429).
  uint64_t failed_samples() const { return failed_samples_.load(); }
  // Samples sent again after a failed try.
  uint64_t retried_samples() const { return retried_samples_.load(); }
  // Samples in the queue not yet delivered or dropped. What was queued
  // before the start is counted by one pass over it, in the background:
  // until that pass ends, those samples count only once delivered.
  uint64_t PendingSamples() const;
  // The newest timestamp among the delivered samples, in ms (0: none yet).
  int64_t highest_sent_timestamp_ms() const { return highest_sent_ms_.load(); }
  // The shards' queue records through the shared cache: asked for, and
  // read from disk and split (ForwardSplitCache::gets and loads).
  uint64_t records_read() const { return cache_->gets(); }
  uint64_t records_loaded() const { return cache_->loads(); }

 private:
  RemoteWriteSender(const RemoteWriteDestination& destination,
                    ForwardQueue* queue);
  void RunShard(uint32_t shard, int consumer, ForwardPosition start);
  // Adds to backlog_samples_ the samples of each shard's series from its
  // start to the end of the queue at the sender's start.
  void CountBacklog(std::vector<ForwardPosition> starts);
  struct Shard;
  // Sends the shard's batch until it is delivered or dropped (true), or the
  // sender stops (false).
  bool Send(Shard& shard);
  // Waits `ms` unless the sender stops first; false when it stops.
  bool Sleep(int64_t ms);
  void LogDropped(int status, std::string_view body, uint64_t samples);

  const RemoteWriteDestination destination_;
  ForwardQueue* const queue_;
  std::string host_, port_, target_;  // from the URL
  std::string headers_;               // every request's, "\r\n" each
  std::unique_ptr<ForwardCursors> cursors_;
  const ForwardQueue::Mark at_start_;
  std::unique_ptr<ForwardSplitCache> cache_;
  std::vector<std::thread> threads_;  // the shards, and CountBacklog's

  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;  // mu_
  std::atomic<bool> stopped_{false};

  std::atomic<uint64_t> sent_samples_{0};
  std::atomic<uint64_t> sent_bytes_{0};
  std::atomic<uint64_t> failed_samples_{0};
  std::atomic<uint64_t> retried_samples_{0};
  std::atomic<uint64_t> backlog_samples_{0};  // held at Start
  std::atomic<int64_t> highest_sent_ms_{0};

  std::mutex log_mu_;
  int64_t last_drop_log_ms_ = 0;  // log_mu_
  uint64_t unlogged_drops_ = 0;   // log_mu_
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FORWARD_REMOTE_WRITE_SENDER_H_
