#include "tools/server/forward/forward_queue.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/io/atomic_file.h"
#include "core/io/crc32c.h"
#include "core/io/errno_status.h"
#include "core/io/little_endian.h"
#include "tools/server/event_log.h"

namespace keel::tools {
namespace {

constexpr char kSegmentMagic[8] = {'K', 'E', 'E', 'L', 'F', 'W', 'Q', '1'};
constexpr char kReplayFile[] = "replay-from";

absl::Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return core::ErrnoStatus(errno, dir, "open directory");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return core::ErrnoStatus(err, dir, "fsync directory");
  return absl::OkStatus();
}

// Reads exactly n bytes at offset; false at the file's end.
absl::StatusOr<bool> PreadAll(int fd, void* data, size_t n, uint64_t offset,
                              const std::string& path) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return core::ErrnoStatus(errno, path, "read");
    if (got == 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

absl::Status WriteAll(int fd, const char* p, size_t n, uint64_t offset,
                      const std::string& path) {
  while (n > 0) {
    ssize_t put = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return core::ErrnoStatus(errno, path, "write");
    p += put;
    n -= static_cast<size_t>(put);
    offset += static_cast<uint64_t>(put);
  }
  return absl::OkStatus();
}

// The log position after a segment's last record: its base while it holds
// none (the end of the segment before it).
template <typename Segment>
uint64_t EndOf(const Segment& segment) {
  return segment.size > kForwardSegmentHeaderBytes ? segment.base + segment.size
                                                   : segment.base;
}

std::string SegmentName(uint64_t base) {
  return absl::StrFormat("%020d.seg", base);
}

}  // namespace

struct ForwardQueue::Segment {
  std::string path;
  uint64_t base = 0;
  uint64_t size = 0;  // durable bytes, header included (mu_)
  int fd = -1;
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

ForwardQueue::ForwardQueue(ForwardQueueOptions options, alloc::Arena* arena)
    : options_(std::move(options)),
      arena_(arena),
      pending_(alloc::ArenaAllocator<char>(*arena)),
      group_(std::make_shared<Group>()) {}

ForwardQueue::~ForwardQueue() = default;

absl::StatusOr<std::unique_ptr<ForwardQueue>> ForwardQueue::Open(
    ForwardQueueOptions options, alloc::Arena* arena) {
  std::error_code error;
  std::filesystem::create_directories(options.dir, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat(
        options.dir, ": cannot create the queue directory: ", error.message()));
  }
  std::unique_ptr<ForwardQueue> queue(
      new ForwardQueue(std::move(options), arena));
  if (absl::Status s = queue->Load(); !s.ok()) return s;
  return queue;
}

absl::Status ForwardQueue::Load() {
  const std::string& dir = options_.dir;
  std::vector<uint64_t> bases;
  std::error_code error;
  for (const auto& file : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = file.path().filename().string();
    uint64_t base = 0;
    if (name.size() == 24 && name.ends_with(".seg") &&
        absl::SimpleAtoi(name.substr(0, 20), &base)) {
      bases.push_back(base);
    }
  }
  if (error) {
    return absl::UnavailableError(
        absl::StrCat(dir, ": cannot list: ", error.message()));
  }
  std::sort(bases.begin(), bases.end());
  ForwardBuffer record{alloc::ArenaAllocator<char>(*arena_)};
  for (size_t i = 0; i < bases.size(); ++i) {
    auto segment = std::make_shared<Segment>();
    segment->base = bases[i];
    segment->path = absl::StrCat(dir, "/", SegmentName(bases[i]));
    segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CLOEXEC);
    if (segment->fd < 0) return core::ErrnoStatus(errno, segment->path, "open");
    if (!segments_.empty() &&
        segments_.back()->base + segments_.back()->size != bases[i]) {
      return absl::DataLossError(
          absl::StrCat(segment->path, ": starts at log position ", bases[i],
                       " but the segment before it ends at ",
                       segments_.back()->base + segments_.back()->size));
    }
    const bool newest = i + 1 == bases.size();
    uint8_t header[kForwardSegmentHeaderBytes];
    auto got = PreadAll(segment->fd, header, sizeof(header), 0, segment->path);
    if (!got.ok()) return got.status();
    if (!*got || std::memcmp(header, kSegmentMagic, 8) != 0 ||
        core::GetU64(header + 8) != bases[i]) {
      return absl::DataLossError(
          absl::StrCat(segment->path,
                       ": byte 0: not a keel remote-write queue segment "
                       "(bad magic or base position)"));
    }
    // Every record's checksum; a bad tail of the newest segment is a write
    // that a crash cut (never acknowledged): cut it off.
    uint64_t offset = kForwardSegmentHeaderBytes;
    struct stat st {};
    if (::fstat(segment->fd, &st) != 0) {
      return core::ErrnoStatus(errno, segment->path, "stat");
    }
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    std::string bad;
    while (offset < file_size) {
      uint8_t frame[kForwardFrameHeaderBytes];
      auto ok =
          PreadAll(segment->fd, frame, sizeof(frame), offset, segment->path);
      if (!ok.ok()) return ok.status();
      const uint64_t length = core::GetU32(frame);
      if (!*ok || length > file_size - offset - kForwardFrameHeaderBytes) {
        bad = absl::StrCat("record cut short (", file_size - offset,
                           " bytes left)");
        break;
      }
      record.resize(length);
      ok = PreadAll(segment->fd, record.data(), length,
                    offset + kForwardFrameHeaderBytes, segment->path);
      if (!ok.ok()) return ok.status();
      if (core::Crc32c(record.data(), length) != core::GetU32(frame + 4)) {
        bad = "checksum mismatch";
        break;
      }
      offset += kForwardFrameHeaderBytes + length;
    }
    if (!bad.empty()) {
      if (!newest) {
        return absl::DataLossError(
            absl::StrCat(segment->path, ": byte ", offset, ": ", bad));
      }
      LogEvent(absl::StrCat("remote-write queue: ", segment->path, ": byte ",
                            offset, ": ", bad, "; cutting off ",
                            file_size - offset,
                            " bytes a crash left unacknowledged"));
      if (::ftruncate(segment->fd, static_cast<off_t>(offset)) != 0 ||
          ::fdatasync(segment->fd) != 0) {
        return core::ErrnoStatus(errno, segment->path, "truncate");
      }
    }
    segment->size = offset;
    end_ = EndOf(*segment);
    disk_bytes_ += offset;
    segments_.push_back(std::move(segment));
  }
  if (segments_.empty()) {
    auto segment = CreateSegment(0);
    if (!segment.ok()) return segment.status();
    segments_.push_back(*std::move(segment));
    end_ = 0;
    disk_bytes_ = kForwardSegmentHeaderBytes;
  }
  // The replay position: a missing or bad file replays all that is held.
  const std::string replay_path = absl::StrCat(dir, "/", kReplayFile);
  int fd = ::open(replay_path.c_str(), O_RDONLY | O_CLOEXEC);
  replay_from_ = StartLocked();
  if (fd >= 0) {
    uint8_t bytes[12];
    auto got = PreadAll(fd, bytes, sizeof(bytes), 0, replay_path);
    ::close(fd);
    if (got.ok() && *got && core::Crc32c(bytes, 8) == core::GetU32(bytes + 8)) {
      replay_from_ = std::clamp(core::GetU64(bytes), StartLocked(), end_);
    } else {
      LogEvent(absl::StrCat("remote-write queue: ", replay_path,
                            " is unreadable; replaying the whole queue"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<ForwardQueue::Segment>>
ForwardQueue::CreateSegment(uint64_t base) {
  auto segment = std::make_shared<Segment>();
  segment->base = base;
  segment->path = absl::StrCat(options_.dir, "/", SegmentName(base));
  segment->fd = ::open(segment->path.c_str(),
                       O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (segment->fd < 0) return core::ErrnoStatus(errno, segment->path, "create");
  uint8_t header[kForwardSegmentHeaderBytes];
  std::memcpy(header, kSegmentMagic, 8);
  core::PutU64(header + 8, base);
  if (absl::Status s = WriteAll(segment->fd, reinterpret_cast<char*>(header),
                                sizeof(header), 0, segment->path);
      !s.ok()) {
    return s;
  }
  if (::fdatasync(segment->fd) != 0) {
    return core::ErrnoStatus(errno, segment->path, "fdatasync");
  }
  if (absl::Status s = SyncDirectory(options_.dir); !s.ok()) return s;
  segment->size = kForwardSegmentHeaderBytes;
  return segment;
}

bool ForwardQueue::Full() const {
  std::lock_guard lock(mu_);
  return disk_bytes_ + pending_.size() >= options_.max_bytes;
}

absl::Status ForwardQueue::Append(const ForwardRecord& record) {
  std::string_view bytes = record.bytes();
  uint8_t frame[kForwardFrameHeaderBytes];
  core::PutU32(frame, static_cast<uint32_t>(bytes.size()));
  core::PutU32(frame + 4, core::Crc32c(bytes.data(), bytes.size()));
  std::unique_lock lock(mu_);
  pending_.append(reinterpret_cast<const char*>(frame), sizeof(frame));
  pending_.append(bytes.data(), bytes.size());
  frames_.push_back(sizeof(frame) + bytes.size());
  std::shared_ptr<Group> group = group_;
  group->samples += record.samples();
  group->highest_timestamp_ms =
      std::max(group->highest_timestamp_ms, record.max_timestamp_ms());
  while (!group->done) {
    if (!flushing_) {
      Flush(lock);
    } else {
      synced_.wait(lock);
    }
  }
  return group->status;
}

void ForwardQueue::Flush(std::unique_lock<std::mutex>& lock) {
  flushing_ = true;
  ForwardBuffer writing{alloc::ArenaAllocator<char>(*arena_)};
  writing.swap(pending_);
  std::vector<uint64_t> frames;
  frames.swap(frames_);
  std::shared_ptr<Group> group =
      std::exchange(group_, std::make_shared<Group>());
  std::shared_ptr<Segment> current = segments_.back();
  uint64_t size = current->size;
  lock.unlock();

  // Only this thread writes: segments_ changes under mu_ for the readers.
  absl::Status status;
  size_t offset = 0;
  for (uint64_t frame : frames) {
    if (size > kForwardSegmentHeaderBytes &&
        size + frame > options_.segment_bytes) {
      if (::fdatasync(current->fd) != 0) {
        status = core::ErrnoStatus(errno, current->path, "fdatasync");
        break;
      }
      auto next = CreateSegment(current->base + size);
      if (!next.ok()) {
        status = next.status();
        break;
      }
      std::lock_guard relock(mu_);
      disk_bytes_ += size - current->size + kForwardSegmentHeaderBytes;
      current->size = size;  // whole and synced
      current = *next;
      size = current->size;
      segments_.push_back(current);
    }
    status = WriteAll(current->fd, writing.data() + offset, frame, size,
                      current->path);
    if (!status.ok()) break;
    offset += frame;
    size += frame;
  }
  if (status.ok() && ::fdatasync(current->fd) != 0) {
    status = core::ErrnoStatus(errno, current->path, "fdatasync");
  }
  if (!status.ok()) {
    // Nothing of this group counts: cut what part of it reached the file.
    const uint64_t durable = [&] {
      std::lock_guard relock(mu_);
      return current->size;
    }();
    if (::ftruncate(current->fd, static_cast<off_t>(durable)) != 0) {
      LogEvent(
          absl::StrCat("remote-write queue: ", current->path,
                       ": cannot cut a failed write: ", std::strerror(errno)));
    }
    LogEvent(absl::StrCat("remote-write queue: ", status.message()));
    size = durable;
  }
  lock.lock();
  disk_bytes_ += size - current->size;
  current->size = size;
  end_ = EndOf(*current);
  group->done = true;
  group->status = status;
  if (status.ok()) {
    appended_samples_ += group->samples;
    highest_timestamp_ms_ =
        std::max(highest_timestamp_ms_, group->highest_timestamp_ms);
  }
  flushing_ = false;
  synced_.notify_all();
  data_.notify_all();
}

uint64_t ForwardQueue::end() const {
  std::lock_guard lock(mu_);
  return end_;
}

uint64_t ForwardQueue::start() const {
  std::lock_guard lock(mu_);
  return StartLocked();
}

uint64_t ForwardQueue::StartLocked() const { return segments_.front()->base; }

uint64_t ForwardQueue::WaitPast(uint64_t position, absl::Time deadline) {
  std::unique_lock lock(mu_);
  const uint64_t generation = wake_generation_;
  data_.wait_for(lock, absl::ToChronoNanoseconds(deadline - absl::Now()), [&] {
    return end_ > position || wake_generation_ != generation;
  });
  return end_;
}

void ForwardQueue::Wake() {
  std::lock_guard lock(mu_);
  ++wake_generation_;
  data_.notify_all();
}

std::shared_ptr<ForwardQueue::Segment> ForwardQueue::SegmentAt(
    uint64_t position) const {
  // The last segment whose base is at or before the position.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), position,
                             [](uint64_t p, const std::shared_ptr<Segment>& s) {
                               return p < s->base;
                             });
  if (it == segments_.begin()) return nullptr;
  --it;
  if (position >= (*it)->base + (*it)->size) return nullptr;
  return *it;
}

absl::Status ForwardQueue::Read(uint64_t position, ForwardBuffer* record,
                                uint64_t* next) {
  std::shared_ptr<Segment> segment;
  uint64_t size = 0;
  {
    std::lock_guard lock(mu_);
    segment = SegmentAt(position);
    if (segment == nullptr) {
      return absl::OutOfRangeError(
          absl::StrCat("remote-write queue: no record at log position ",
                       position, " (held: ", StartLocked(), "..", end_, ")"));
    }
    size = segment->size;
  }
  uint64_t offset =
      std::max(position - segment->base, kForwardSegmentHeaderBytes);
  uint8_t frame[kForwardFrameHeaderBytes];
  auto got = PreadAll(segment->fd, frame, sizeof(frame), offset, segment->path);
  if (!got.ok()) return got.status();
  const uint64_t length = core::GetU32(frame);
  if (!*got || offset + kForwardFrameHeaderBytes + length > size) {
    return absl::DataLossError(
        absl::StrCat(segment->path, ": byte ", offset,
                     ": no whole record here (not a record's position?)"));
  }
  record->resize(length);
  got = PreadAll(segment->fd, record->data(), length,
                 offset + kForwardFrameHeaderBytes, segment->path);
  if (!got.ok()) return got.status();
  if (core::Crc32c(record->data(), length) != core::GetU32(frame + 4)) {
    return absl::DataLossError(
        absl::StrCat(segment->path, ": byte ", offset, ": checksum mismatch"));
  }
  *next = segment->base + offset + kForwardFrameHeaderBytes + length;
  return absl::OkStatus();
}

int ForwardQueue::AddConsumer(uint64_t position) {
  std::lock_guard lock(mu_);
  consumers_.push_back(std::clamp(position, StartLocked(), end_));
  return static_cast<int>(consumers_.size()) - 1;
}

void ForwardQueue::Advance(int consumer, uint64_t position) {
  std::lock_guard lock(mu_);
  consumers_[consumer] = position;
  Trim();
}

void ForwardQueue::Trim() {
  uint64_t floor = replay_from_;
  for (uint64_t c : consumers_) floor = std::min(floor, c);
  while (segments_.size() > 1 &&
         segments_.front()->base + segments_.front()->size <= floor) {
    if (::unlink(segments_.front()->path.c_str()) != 0) {
      LogEvent(absl::StrCat("remote-write queue: ", segments_.front()->path,
                            ": cannot delete: ", std::strerror(errno)));
      return;
    }
    disk_bytes_ -= segments_.front()->size;
    segments_.erase(segments_.begin());
  }
}

absl::Status ForwardQueue::SetReplayFrom(uint64_t position) {
  uint8_t bytes[12];
  core::PutU64(bytes, position);
  core::PutU32(bytes + 8, core::Crc32c(bytes, 8));
  auto file = core::AtomicFile::Create(
      absl::StrCat(options_.dir, "/", kReplayFile), sizeof(bytes));
  if (!file.ok()) return file.status();
  if (absl::Status s = file->Append(bytes, sizeof(bytes)); !s.ok()) return s;
  if (absl::Status s = file->Commit(1); !s.ok()) return s;
  std::lock_guard lock(mu_);
  replay_from_ = std::max(replay_from_, position);
  Trim();
  return absl::OkStatus();
}

uint64_t ForwardQueue::replay_from() const {
  std::lock_guard lock(mu_);
  return replay_from_;
}

ForwardQueue::Mark ForwardQueue::TakeMark() const {
  std::lock_guard lock(mu_);
  return {end_, appended_samples_};
}

uint64_t ForwardQueue::disk_bytes() const {
  std::lock_guard lock(mu_);
  return disk_bytes_;
}

uint64_t ForwardQueue::appended_samples() const {
  std::lock_guard lock(mu_);
  return appended_samples_;
}

int64_t ForwardQueue::highest_timestamp_ms() const {
  std::lock_guard lock(mu_);
  return highest_timestamp_ms_;
}

}  // namespace keel::tools
