// ForwardCursors: how far each sender shard of one remote-write destination
// has delivered, kept in a small file beside the queue
// (<queue dir>/<destination name>.cursors) so that a restart resumes where
// the backend last acknowledged.
//
// A shard's position is a queue record and the first of its entries not
// yet delivered: every entry of the shard's series before it was
// acknowledged (2xx) or refused for good (4xx). Set writes the shard's
// 16-byte slot (position and CRC32C) in place with pwrite and no fsync:
// a SIGKILL loses nothing (the page cache keeps it); a power cut may lose
// the last moves, and the batches they acknowledged are sent again.
//
//   auto cursors = ForwardCursors::Open(path, 4, {queue->end(), 0});
//   ForwardPosition p = (*cursors)->Get(shard);
//   ... send, get a 2xx ...
//   (*cursors)->Set(shard, after_batch);
//
// A file written for another shard count (the destination's shards
// changed) starts every shard at the least position it holds, logged: the
// series move between shards, and some samples are sent again.
//
// Thread safety: Set and Get of distinct shards may run at once.
#ifndef KEEL_TOOLS_SERVER_FORWARD_FORWARD_CURSORS_H_
#define KEEL_TOOLS_SERVER_FORWARD_FORWARD_CURSORS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::tools {

struct ForwardPosition {
  uint64_t record = 0;  // a record's queue position
  uint32_t entry = 0;   // the first of its entries still to send
  friend bool operator==(const ForwardPosition&,
                         const ForwardPosition&) = default;
};

class ForwardCursors {
 public:
  // Opens the file, or creates it with every shard at `initial` (a new
  // destination starts at the queue's end: it gets what arrives from now).
  static absl::StatusOr<std::unique_ptr<ForwardCursors>> Open(
      std::string path, uint32_t shards, ForwardPosition initial);
  ~ForwardCursors();
  ForwardCursors(const ForwardCursors&) = delete;
  ForwardCursors& operator=(const ForwardCursors&) = delete;

  ForwardPosition Get(uint32_t shard) const { return positions_[shard]; }
  absl::Status Set(uint32_t shard, ForwardPosition position);
  const std::string& path() const { return path_; }

 private:
  ForwardCursors(std::string path, int fd, std::vector<ForwardPosition> p)
      : path_(std::move(path)), fd_(fd), positions_(std::move(p)) {}

  const std::string path_;
  const int fd_;
  std::vector<ForwardPosition> positions_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FORWARD_FORWARD_CURSORS_H_
