// The remote-write queue: records round-trip, segments rotate and are
// deleted once every reader passed them, a crash's torn tail is cut while
// corruption elsewhere is refused with the file and offset, a SIGKILLed
// writer loses no acknowledged record, and cursors survive reopening.
#include "tools/server/forward/forward_queue.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "remote_write.pb.h"
#include "tests/testing/temp_dir.h"
#include "tools/server/forward/forward_cursors.h"
#include "tools/server/forward/forward_record.h"

namespace keel::tools {
namespace {

using testing::TempDir;

// A record of `series` series named by `tag`, one sample each at `t`.
ForwardRecord MakeRecord(int tag, int series = 3, int64_t t = 1000) {
  ForwardRecord record;
  for (int i = 0; i < series; ++i) {
    record.BeginSeries();
    record.AddLabel("__name__", "m");
    record.AddLabel("tag", std::to_string(tag));
    record.AddLabel("i", std::to_string(i));
    record.AddSample(t + i, tag + 0.5);
    record.EndSeries();
  }
  return record;
}

// Every record from the queue's start, as strings.
std::vector<std::string> ReadAll(ForwardQueue& queue) {
  std::vector<std::string> records;
  ForwardBuffer buffer{alloc::ArenaAllocator<char>(queue.arena())};
  for (uint64_t p = queue.start(); p < queue.end();) {
    uint64_t next = 0;
    REQUIRE(queue.Read(p, &buffer, &next).ok());
    records.emplace_back(buffer.data(), buffer.size());
    REQUIRE(next > p);
    p = next;
  }
  return records;
}

std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() == ".seg") files.push_back(f.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST_CASE("a record holds remote-write series with only what was added") {
  ForwardRecord record;
  record.BeginSeries();
  record.AddLabel("__name__", "up");
  record.AddLabel("job", "node");
  record.AddSample(1700000000000, 1.5);
  record.AddSample(1700000001000, -2);
  record.EndSeries();
  record.BeginSeries();  // no sample: taken back
  record.AddLabel("__name__", "gone");
  record.EndSeries();
  CHECK(record.samples() == 2);
  CHECK(record.max_timestamp_ms() == 1700000001000);
  std::vector<ForwardEntry> entries;
  REQUIRE(
      ForEachForwardEntry(record.bytes(), [&](size_t, const ForwardEntry& e) {
        entries.push_back(e);
        return true;
      }).ok());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].samples == 2);
  CHECK(entries[0].max_timestamp_ms == 1700000001000);
  prompb::TimeSeries series;
  REQUIRE(series.ParseFromString(std::string(entries[0].series)));
  REQUIRE(series.labels_size() == 2);
  CHECK(series.labels(1).name() == "job");
  CHECK(series.labels(1).value() == "node");
  REQUIRE(series.samples_size() == 2);
  CHECK(series.samples(1).timestamp() == 1700000001000);
  CHECK(series.samples(1).value() == -2);

  // As a WriteRequest: the field tag and length before each message.
  alloc::Arena arena("forward_record_test");
  ForwardBuffer body{alloc::ArenaAllocator<char>(arena)};
  AppendAsWriteRequestField(entries[0].series, &body);
  AppendAsWriteRequestField(entries[0].series, &body);
  prompb::WriteRequest request;
  REQUIRE(request.ParseFromArray(body.data(), static_cast<int>(body.size())));
  CHECK(request.timeseries_size() == 2);

  // The same labels hash alike (the shard of a series never changes).
  ForwardRecord again = MakeRecord(7, 1);
  ForwardRecord other = MakeRecord(7, 1, 5000);
  uint32_t h1 = 0, h2 = 0;
  ForEachForwardEntry(again.bytes(), [&](size_t, const ForwardEntry& e) {
    h1 = e.hash;
    return true;
  }).IgnoreError();
  ForEachForwardEntry(other.bytes(), [&](size_t, const ForwardEntry& e) {
    h2 = e.hash;
    return true;
  }).IgnoreError();
  CHECK(h1 == h2);

  std::string cut(record.bytes().substr(0, record.bytes().size() - 3));
  absl::Status s = ForEachForwardEntry(
      cut, [](size_t, const ForwardEntry&) { return true; });
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(std::string(s.message()), Catch::Contains("entry 0 at byte 0"));
}

TEST_CASE("records round-trip across reopening and segment rotation") {
  TempDir dir("forward_queue");
  alloc::Arena arena("forward_queue_test");
  ForwardQueueOptions options{.dir = dir.path() + "/q", .segment_bytes = 1000};
  std::vector<std::string> written;
  {
    auto queue = ForwardQueue::Open(options, &arena);
    REQUIRE(queue.ok());
    CHECK((*queue)->start() == (*queue)->end());
    for (int i = 0; i < 40; ++i) {
      ForwardRecord r = MakeRecord(i);
      REQUIRE((*queue)->Append(r).ok());
      written.emplace_back(r.bytes());
    }
    CHECK((*queue)->appended_samples() == 120);
    CHECK((*queue)->highest_timestamp_ms() == 1002);
    CHECK(ReadAll(**queue) == written);
  }
  CHECK(SegmentFiles(options.dir).size() > 5);
  auto queue = ForwardQueue::Open(options, &arena);
  REQUIRE(queue.ok());
  CHECK(ReadAll(**queue) == written);
  CHECK((*queue)->disk_bytes() > 40 * written[0].size());

  // Readers and the replay position hold segments; the current one stays.
  const size_t segments = SegmentFiles(options.dir).size();
  const int reader = (*queue)->AddConsumer((*queue)->start());
  (*queue)->Advance(reader, (*queue)->end());
  CHECK(SegmentFiles(options.dir).size() == segments);  // replay position
  REQUIRE((*queue)->SetReplayFrom((*queue)->end()).ok());
  CHECK(SegmentFiles(options.dir).size() == 1);
  const uint64_t end = (*queue)->end();
  ForwardRecord r = MakeRecord(99);
  REQUIRE((*queue)->Append(r).ok());
  ForwardBuffer buffer{alloc::ArenaAllocator<char>(arena)};
  uint64_t next = 0;
  REQUIRE((*queue)->Read(end, &buffer, &next).ok());
  CHECK(std::string(buffer.data(), buffer.size()) == r.bytes());
  CHECK((*queue)->replay_from() == end);
  queue->reset();
  auto reopened = ForwardQueue::Open(options, &arena);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->replay_from() == end);
  CHECK((*reopened)->end() == next);
}

TEST_CASE("a torn tail is cut; corruption elsewhere names file and offset") {
  TempDir dir("forward_queue");
  alloc::Arena arena("forward_queue_test");
  ForwardQueueOptions options{.dir = dir.path() + "/q", .segment_bytes = 600};
  uint64_t end = 0;
  {
    auto queue = ForwardQueue::Open(options, &arena);
    REQUIRE(queue.ok());
    for (int i = 0; i < 10; ++i) REQUIRE((*queue)->Append(MakeRecord(i)).ok());
    end = (*queue)->end();
  }
  std::vector<std::string> files = SegmentFiles(options.dir);
  REQUIRE(files.size() >= 2);
  // A write cut by a crash: half a frame at the end of the newest segment.
  {
    std::string tail = testing::ReadFile(files.back());
    testing::WriteFile(files.back(), tail + tail.substr(16, 20));
    auto queue = ForwardQueue::Open(options, &arena);
    REQUIRE(queue.ok());
    CHECK((*queue)->end() == end);
    CHECK(ReadAll(**queue).size() == 10);
  }
  // A flipped byte in an older segment is not a crash: refused.
  std::string first = testing::ReadFile(files.front());
  first[40] ^= 1;
  testing::WriteFile(files.front(), first);
  auto queue = ForwardQueue::Open(options, &arena);
  REQUIRE_FALSE(queue.ok());
  CHECK_THAT(std::string(queue.status().message()),
             Catch::Contains(files.front() + ": byte 16: checksum mismatch"));
  // Not a segment at all.
  testing::WriteFile(files.front(), "hello, world, this is not a segment");
  queue = ForwardQueue::Open(options, &arena);
  REQUIRE_FALSE(queue.ok());
  CHECK_THAT(std::string(queue.status().message()),
             Catch::Contains("not a keel remote-write queue segment"));
}

TEST_CASE("Full once the bytes on disk reach the bound") {
  TempDir dir("forward_queue");
  alloc::Arena arena("forward_queue_test");
  auto queue = ForwardQueue::Open(
      {.dir = dir.path() + "/q", .max_bytes = 2000, .segment_bytes = 500},
      &arena);
  REQUIRE(queue.ok());
  int appended = 0;
  while (!(*queue)->Full()) {
    REQUIRE((*queue)->Append(MakeRecord(appended++)).ok());
    REQUIRE(appended < 100);
  }
  CHECK((*queue)->disk_bytes() >= 2000);
  CHECK(appended > 5);
  // Readers past everything free it.
  const int reader = (*queue)->AddConsumer((*queue)->start());
  (*queue)->Advance(reader, (*queue)->end());
  REQUIRE((*queue)->SetReplayFrom((*queue)->end()).ok());
  CHECK_FALSE((*queue)->Full());
}

TEST_CASE("concurrent writers share flushes; every record lands once") {
  TempDir dir("forward_queue");
  alloc::Arena arena("forward_queue_test");
  auto queue = ForwardQueue::Open(
      {.dir = dir.path() + "/q", .segment_bytes = 64 << 10}, &arena);
  REQUIRE(queue.ok());
  constexpr int kThreads = 4, kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        REQUIRE((*queue)->Append(MakeRecord(t * kEach + i, 1)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> records = ReadAll(**queue);
  REQUIRE(records.size() == kThreads * kEach);
  std::set<std::string> distinct(records.begin(), records.end());
  CHECK(distinct.size() == records.size());
}

TEST_CASE("a SIGKILLed writer loses no acknowledged record") {
  TempDir dir("forward_queue");
  const std::string qdir = dir.path() + "/q";
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    alloc::Arena arena("forward_queue_child");
    auto queue =
        ForwardQueue::Open({.dir = qdir, .segment_bytes = 4096}, &arena);
    if (!queue.ok()) _exit(2);
    for (uint32_t i = 0;; ++i) {
      if (!(*queue)->Append(MakeRecord(static_cast<int>(i), 2)).ok()) _exit(3);
      // Acknowledged: tell the parent (as a 2xx tells a client).
      if (write(fds[1], &i, sizeof(i)) != sizeof(i)) _exit(4);
    }
  }
  close(fds[1]);
  uint32_t acknowledged = 0, got = 0;
  int reads = 0;
  while (reads < 300 && read(fds[0], &got, sizeof(got)) == sizeof(got)) {
    acknowledged = got + 1;
    ++reads;
  }
  kill(child, SIGKILL);
  // Whatever the pipe still holds was acknowledged too.
  while (read(fds[0], &got, sizeof(got)) == sizeof(got)) acknowledged = got + 1;
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  alloc::Arena arena("forward_queue_test");
  auto queue = ForwardQueue::Open({.dir = qdir, .segment_bytes = 4096}, &arena);
  REQUIRE(queue.ok());
  std::vector<std::string> records = ReadAll(**queue);
  REQUIRE(records.size() >= acknowledged);
  for (uint32_t i = 0; i < acknowledged; ++i) {
    INFO(i);
    CHECK(records[i] == MakeRecord(static_cast<int>(i), 2).bytes());
  }
}

TEST_CASE("cursors survive reopening; a new shard count resumes at the least") {
  TempDir dir("forward_cursors");
  const std::string path = dir.path() + "/d.cursors";
  {
    auto cursors = ForwardCursors::Open(path, 3, {100, 0});
    REQUIRE(cursors.ok());
    CHECK((*cursors)->Get(2) == ForwardPosition{100, 0});
    REQUIRE((*cursors)->Set(0, {500, 2}).ok());
    REQUIRE((*cursors)->Set(1, {300, 7}).ok());
    REQUIRE((*cursors)->Set(2, {900, 0}).ok());
  }
  {
    auto cursors = ForwardCursors::Open(path, 3, {0, 0});
    REQUIRE(cursors.ok());
    CHECK((*cursors)->Get(0) == ForwardPosition{500, 2});
    CHECK((*cursors)->Get(1) == ForwardPosition{300, 7});
    CHECK((*cursors)->Get(2) == ForwardPosition{900, 0});
  }
  auto resharded = ForwardCursors::Open(path, 2, {0, 0});
  REQUIRE(resharded.ok());
  CHECK((*resharded)->Get(0) == ForwardPosition{300, 0});
  CHECK((*resharded)->Get(1) == ForwardPosition{300, 0});
  resharded->reset();
  // A torn file: every slot bad -> from the queue's first record.
  std::string bytes = testing::ReadFile(path);
  for (size_t i = 16; i < bytes.size(); ++i) bytes[i] ^= 0x5a;
  testing::WriteFile(path, bytes);
  auto torn = ForwardCursors::Open(path, 2, {777, 0});
  REQUIRE(torn.ok());
  CHECK((*torn)->Get(0) == ForwardPosition{0, 0});
}

}  // namespace
}  // namespace keel::tools
