// Several threads allocating and freeing on one arena; run under TSan.
#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/arena.h"
#include "alloc/arena_allocator.h"
#include "alloc/purge.h"
#include "alloc/stats.h"

namespace keel::alloc {
namespace {

TEST_CASE("concurrent allocate, reallocate and free on one arena") {
  Arena arena("concurrent");
  PurgePolicy policy(arena, 1u << 20);
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int, ArenaAllocator<int>> v{ArenaAllocator<int>(arena)};
      for (int round = 0; round < 20; ++round) {
        std::vector<std::pair<void*, size_t>> mine;
        for (int i = 0; i < 2000; ++i) {
          size_t size = 16 + ((i * 7 + t * 13) % 3000);
          void* p = arena.Allocate(size);
          static_cast<char*>(p)[0] = static_cast<char>(i);
          if (i % 5 == 0) {
            p = arena.Reallocate(p, size * 2);
            size *= 2;
          }
          mine.emplace_back(p, size);
          v.push_back(i);
        }
        size_t freed = 0;
        for (auto [p, size] : mine) {
          arena.Deallocate(p, size);
          freed += size;
        }
        policy.Freed(freed);
        CaptureArenaStats(arena);
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(CaptureArenaStats(arena).memory.allocated == 0);
  REQUIRE(CaptureArenaStats(arena).purges > 0);
}

// jemalloc's statistics of an arena exist only from the first epoch refresh
// after its creation: a capture that refreshed before another thread created
// an arena, then listed it, read an ENOENT and aborted (a /metrics scrape
// during keel serve's start did).
TEST_CASE("statistics captured while another thread creates arenas") {
  std::atomic<bool> done{false};
  std::thread creator([&] {
    std::vector<std::unique_ptr<Arena>> held;  // kept: each one is created
    for (int i = 0; i < 40; ++i) {
      held.push_back(std::make_unique<Arena>(absl::StrCat("created_", i)));
      held.back()->Deallocate(held.back()->Allocate(64), 64);
    }
    done = true;
  });
  uint64_t captures = 0;
  while (!done) {
    ProcessStats stats = CaptureStats();
    captures += !stats.arenas.empty();
  }
  creator.join();
  CHECK(captures > 0);
}

}  // namespace
}  // namespace keel::alloc
