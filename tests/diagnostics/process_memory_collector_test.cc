#include "diagnostics/process_memory_collector.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/diagnostics/metric_samples.h"

namespace keel::diagnostics {
namespace {

// What smaps says, trimmed to the lines the parser reads and a few others.
constexpr char kSmaps[] =
    "55d0a0000000-55d0a0010000 r-xp 00000000 08:01 1234      /usr/bin/keel\n"
    "Size:                 64 kB\n"
    "Rss:                  40 kB\n"
    "VmFlags: rd ex mr mw me dw\n"
    // A thread's stack: a one-page guard, then the stack right above it.
    "7f0000000000-7f0000001000 ---p 00000000 00:00 0\n"
    "Rss:                   0 kB\n"
    "7f0000001000-7f0000801000 rw-p 00000000 00:00 0\n"
    "Rss:                  16 kB\n"
    // A malloc heap: its no-access reserve is megabytes, so what follows
    // it is no stack.
    "7f1000000000-7f1003000000 ---p 00000000 00:00 0\n"
    "Rss:                   0 kB\n"
    "7f1003000000-7f1004000000 rw-p 00000000 00:00 0\n"
    "Rss:                 200 kB\n"
    // Not adjacent to its guard.
    "7f2000000000-7f2000001000 ---p 00000000 00:00 0\n"
    "7f2000002000-7f2000003000 rw-p 00000000 00:00 0\n"
    "Rss:                   4 kB\n"
    "7f3000000000-7f3000100000 rw-s 00000000 00:01 99        /dev/shm/x\n"
    "Rss:                   8 kB\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0         [stack]\n"
    "Rss:                  12 kB\n"
    "7ffd10000000-7ffd10002000 r-xp 00000000 00:00 0         [vdso]\n"
    "Rss:                   8 kB\n";

TEST_CASE("smaps is split into file, thread stack and other anonymous pages") {
  std::istringstream in(kSmaps);
  ResidentMemory r = ParseSmaps(in);
  CHECK(r.file == (40 + 8) << 10);
  CHECK(r.thread_stacks == (16 + 12) << 10);
  CHECK(r.anonymous == (200 + 4 + 8) << 10);
}

TEST_CASE("the collector reads this process's smaps") {
  // A thread parked while the collector runs: its stack is resident.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread parked([&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
  });
  auto families = ProcessMemoryCollector().Collect();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_one();
  parked.join();
  CHECK(SampleValue(families, "keel_rss_bytes", {{"kind", "file"}}) > 0);
  CHECK(SampleValue(families, "keel_rss_bytes", {{"kind", "thread_stacks"}}) >
        0);
  CHECK(SampleValue(families, "keel_rss_bytes", {{"kind", "anonymous"}}) > 0);
}

}  // namespace
}  // namespace keel::diagnostics
