#include "diagnostics/process_memory_collector.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/str_split.h"
#include "alloc/stats.h"
#include "tests/diagnostics/metric_samples.h"

namespace keel::diagnostics {
namespace {

// What /proc/<pid>/maps says.
constexpr char kMaps[] =
    "55d0a0000000-55d0a0010000 r-xp 00000000 08:01 1234      /usr/bin/keel\n"
    // A thread's stack: a one-page guard, then the stack right above it.
    "7f0000000000-7f0000001000 ---p 00000000 00:00 0\n"
    "7f0000001000-7f0000801000 rw-p 00000000 00:00 0\n"
    // A malloc heap: its no-access reserve is megabytes, so what follows
    // it is no stack.
    "7f1000000000-7f1003000000 ---p 00000000 00:00 0\n"
    "7f1003000000-7f1004000000 rw-p 00000000 00:00 0\n"
    // Not adjacent to its guard.
    "7f2000000000-7f2000001000 ---p 00000000 00:00 0\n"
    "7f2000002000-7f2000003000 rw-p 00000000 00:00 0\n"
    // A guard, then a line that is no mapping: the guard is forgotten.
    "7f2100000000-7f2100001000 ---p 00000000 00:00 0\n"
    "garbage\n"
    "7f2100001000-7f2100002000 rw-p 00000000 00:00 0\n"
    // A file's no-access gap is no guard.
    "7f2200000000-7f2200001000 ---p 00000000 08:01 99        /lib/libx.so\n"
    "7f2200001000-7f2200002000 rw-p 00000000 00:00 0\n"
    "7f3000000000-7f3000100000 rw-s 00000000 00:01 99        /dev/shm/a b\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0         [stack]\n"
    "7ffd10000000-7ffd10002000 r-xp 00000000 00:00 0         [vdso]\n";

TEST_CASE("thread stacks are the guarded read-write mappings and [stack]") {
  StackMappings mappings;
  for (absl::string_view line : absl::StrSplit(kMaps, '\n')) {
    mappings.AddLine(std::string_view(line.data(), line.size()));
  }
  CHECK(mappings.stacks() ==
        std::vector<AddressRange>{{0x7f0000001000, 0x7f0000801000},
                                  {0x7ffd00000000, 0x7ffd00021000}});
}

TEST_CASE("the collector counts the pages a thread's stack holds") {
  // A thread that wrote 1 MiB of its stack, parked while the collector runs.
  constexpr size_t kTouched = 1 << 20;
  std::mutex mu;
  std::condition_variable cv;
  bool touched = false, done = false;
  std::thread parked([&] {
    volatile char deep[kTouched];
    std::memset(const_cast<char*>(deep), 1, kTouched);
    std::unique_lock lock(mu);
    touched = true;
    cv.notify_all();
    cv.wait(lock, [&] { return done; });
    deep[0] = deep[kTouched - 1];
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return touched; });
  }
  ResidentMemory r;
  const bool read = ReadResidentMemory(&r);
  const uint64_t rss = alloc::ProcessRssBytes();
  auto families = ProcessMemoryCollector().Collect();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  parked.join();
  REQUIRE(read);
  CHECK(r.file > 0);
  CHECK(r.thread_stacks >= kTouched);
  CHECK(r.anonymous > 0);
  // The kinds split the RSS statm reports (read a moment apart).
  const uint64_t sum = r.file + r.thread_stacks + r.anonymous;
  CHECK(sum <= rss + (1 << 20));
  CHECK(sum + (1 << 20) >= rss);
  CHECK(SampleValue(families, "keel_rss_bytes", {{"kind", "file"}}) > 0);
  CHECK(SampleValue(families, "keel_rss_bytes", {{"kind", "thread_stacks"}}) >=
        kTouched);
  CHECK(SampleValue(families, "keel_rss_bytes", {{"kind", "anonymous"}}) > 0);
}

}  // namespace
}  // namespace keel::diagnostics
