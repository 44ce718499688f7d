// ForwardQueue: the bounded on-disk queue of what keel serve accepted and
// has yet to forward to its remote-write destinations; also the log from
// which a restart puts back into the store what the last snapshot missed.
//
// The queue is a run of segment files in one directory, named by the log
// position of their first byte (00000000000000000000.seg, ...). A segment
// is a 16-byte header ("KEELFWQ1" and its base position) and records, each
// framed as its length, the CRC32C of its bytes, and a ForwardRecord. A
// record's position is its frame's byte position in the log, so positions
// only grow and stay valid across restarts.
//
// Append makes a record durable before it returns (group commit: the
// writers waiting together share one write and one fdatasync, led by the
// first), so a write acknowledged after Append survives a SIGKILL or a
// power cut. Senders read records by position from any thread. Each sender
// shard is a consumer whose position says what it has delivered; a segment
// is deleted once every consumer and the replay position (the log position
// the newest snapshot holds everything before) are past it. The current
// segment is never deleted.
//
// Open checks every segment: a record cut short or failing its checksum
// at the end of the newest segment (a crash mid-write, never acknowledged)
// is cut off and logged; anywhere else it is an error naming the file and
// byte offset, and keel does not start (move the directory away to start
// with an empty queue).
//
//   auto queue = ForwardQueue::Open({.dir = "/var/lib/keel/remote-write"},
//                                   &arena);
//   if (queue->Full()) return 429;
//   RETURN_IF_ERROR(queue->Append(record));       // durable now
//   ... a sender: Read(position, &payload, &next), then Advance.
//
// Thread safety: every method may run on any thread.
// Ownership: the arena must outlive the queue.
#ifndef KEEL_TOOLS_SERVER_FORWARD_FORWARD_QUEUE_H_
#define KEEL_TOOLS_SERVER_FORWARD_FORWARD_QUEUE_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "alloc/arena.h"
#include "tools/server/forward/forward_record.h"

namespace keel::tools {

struct ForwardQueueOptions {
  std::string dir;  // created when missing
  // Full() past this many bytes on disk (and buffered for the disk).
  uint64_t max_bytes = uint64_t{1} << 30;
  // A segment ends once a record would take it past this size.
  uint64_t segment_bytes = uint64_t{64} << 20;
};

inline constexpr uint64_t kForwardSegmentHeaderBytes = 16;
// A frame's length and checksum.
inline constexpr uint64_t kForwardFrameHeaderBytes = 8;
// Larger frames are corrupt: a record holds one write, which the server's
// decoded budget bounds far below this.
inline constexpr uint64_t kForwardMaxRecordBytes = uint64_t{1} << 30;

class ForwardQueue {
 public:
  static absl::StatusOr<std::unique_ptr<ForwardQueue>> Open(
      ForwardQueueOptions options, alloc::Arena* arena);
  ~ForwardQueue();
  ForwardQueue(const ForwardQueue&) = delete;
  ForwardQueue& operator=(const ForwardQueue&) = delete;

  // Whether the bytes on disk (and waiting for it) reached max_bytes: the
  // write path answers 429 then rather than accepting what it cannot keep.
  bool Full() const;

  // Appends a record and returns once it is on disk (fdatasync). Errors:
  // the file system's (ErrnoStatus; a full disk is ResourceExhausted), and
  // the record is then not in the queue. REQUIRES: !record.empty().
  absl::Status Append(const ForwardRecord& record);

  // The position after the last durable record.
  uint64_t end() const;
  // The position of the first record held.
  uint64_t start() const;

  // Waits until end() > position, the deadline passes or Wake() is called;
  // returns end().
  uint64_t WaitPast(uint64_t position, absl::Time deadline);
  // Wakes every WaitPast (for a stop).
  void Wake();

  // Reads the record at `position` (a record's position, or the end of a
  // segment, which stands for the next segment's first record) into
  // `*record`, and the position after it into `*next`. REQUIRES: start() <=
  // position < end(). Errors: the file's, or a checksum mismatch naming the
  // file and offset.
  absl::Status Read(uint64_t position, ForwardBuffer* record, uint64_t* next);

  // A consumer at `position` (clamped to [start(), end()]); its id.
  int AddConsumer(uint64_t position);
  // Moves the consumer on; segments every consumer and the replay
  // position have passed are deleted.
  void Advance(int consumer, uint64_t position);

  // Where a restart replays from: everything before it is in the newest
  // snapshot. Written durably (core::AtomicFile).
  absl::Status SetReplayFrom(uint64_t position);
  uint64_t replay_from() const;

  // end() and appended_samples() at one moment: the samples appended since
  // are those of the records at or after `end`.
  struct Mark {
    uint64_t end = 0;
    uint64_t appended_samples = 0;
  };
  Mark TakeMark() const;

  uint64_t disk_bytes() const;
  // Samples appended since Open, and the newest timestamp among them (ms;
  // 0 when none).
  uint64_t appended_samples() const;
  int64_t highest_timestamp_ms() const;
  const std::string& dir() const { return options_.dir; }
  alloc::Arena& arena() const { return *arena_; }

 private:
  struct Segment;
  ForwardQueue(ForwardQueueOptions options, alloc::Arena* arena);
  absl::Status Load();
  // Opens a new segment at `base` and makes it the current one.
  absl::StatusOr<std::shared_ptr<Segment>> CreateSegment(uint64_t base);
  // The segment holding `position`, or null past the end (mu_ held).
  std::shared_ptr<Segment> SegmentAt(uint64_t position) const;
  // Writes what is pending to disk; called by one writer at a time with
  // `lock` held, which it releases while it writes.
  void Flush(std::unique_lock<std::mutex>& lock);
  // Deletes the segments every reader has passed (mu_ held).
  void Trim();
  uint64_t StartLocked() const;  // start(), mu_ held

  const ForwardQueueOptions options_;
  alloc::Arena* const arena_;

  mutable std::mutex mu_;
  std::condition_variable synced_;                  // a flush ended
  std::condition_variable data_;                    // end() moved, or Wake()
  std::vector<std::shared_ptr<Segment>> segments_;  // in log order
  uint64_t end_ = 0;                                // durable end
  uint64_t disk_bytes_ = 0;
  // The records of one flush: their writers wait for `done`.
  struct Group {
    bool done = false;
    absl::Status status;
    uint64_t samples = 0;
    int64_t highest_timestamp_ms = 0;
  };
  ForwardBuffer pending_;         // frames waiting for the next flush
  std::vector<uint64_t> frames_;  // their sizes
  std::shared_ptr<Group> group_;  // theirs
  bool flushing_ = false;
  uint64_t wake_generation_ = 0;
  std::vector<uint64_t> consumers_;
  uint64_t replay_from_ = 0;
  uint64_t appended_samples_ = 0;
  int64_t highest_timestamp_ms_ = 0;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FORWARD_FORWARD_QUEUE_H_
