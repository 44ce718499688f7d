#include "alloc/thread_arena.h"

#include <jemalloc/jemalloc.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>
#include <vector>

#include "alloc/stats.h"

namespace keel::alloc {
namespace {

// Allocations through jemalloc's own entry points with no arena named, as
// plain malloc makes them (under ASan, malloc is the sanitizer's), into
// `blocks`, which must have room for them.
void AllocateInto(std::vector<void*>& blocks, size_t size, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    void* p = mallocx(size, 0);
    REQUIRE(p != nullptr);
    std::memset(p, 1, size);
    blocks.push_back(p);
  }
}

std::vector<void*> AllocateBlocks(size_t size, size_t count) {
  std::vector<void*> blocks;
  AllocateInto(blocks, size, count);
  return blocks;
}

void FreeBlocks(const std::vector<void*>& blocks, size_t size) {
  for (void* p : blocks) sdallocx(p, size, 0);
}

TEST_CASE("Named gives one ThreadArena a name, with its first options") {
  ThreadArena& a = ThreadArena::Named("thread_arena_test_named",
                                      {.purge_threshold = 1 << 20});
  ThreadArena& b = ThreadArena::Named("thread_arena_test_named",
                                      {.purge_threshold = 2 << 20});
  REQUIRE(&a == &b);
  REQUIRE(b.options().purge_threshold == 1 << 20);
  REQUIRE(a.arena().name() == "thread_arena_test_named");
  REQUIRE(&ThreadArena::Named("thread_arena_test_other") != &a);
}

TEST_CASE("a bound thread's plain allocations land in the named arena") {
  ThreadArena& arena = ThreadArena::Named("thread_arena_test_bind");
  const uint64_t before = CaptureArenaStats(arena.arena()).memory.allocated;
  constexpr size_t kBlock = 256 << 10;  // a large class: no thread cache
  std::vector<void*> blocks;
  blocks.reserve(16);  // here, in the main thread's arena
  std::thread worker([&] {
    arena.Bind();
    arena.Bind();  // again: no change
    AllocateInto(blocks, kBlock, 16);
  });
  worker.join();
  REQUIRE(CaptureArenaStats(arena.arena()).memory.allocated >=
          before + 16 * kBlock);
  FreeBlocks(blocks, kBlock);  // any thread may free them
  REQUIRE(CaptureArenaStats(arena.arena()).memory.allocated == before);
}

TEST_CASE("a Binding sends allocations to its arena, then back") {
  ThreadArena& outer = ThreadArena::Named("thread_arena_test_binding_outer");
  ThreadArena& inner = ThreadArena::Named("thread_arena_test_binding_inner");
  constexpr size_t kBlock = 256 << 10;  // a large class: no thread cache
  std::thread worker([&] {
    outer.Bind();
    const uint64_t outer_before =
        CaptureArenaStats(outer.arena()).memory.allocated;
    const uint64_t inner_before =
        CaptureArenaStats(inner.arena()).memory.allocated;
    std::vector<void*> bound, after;
    bound.reserve(4);
    after.reserve(4);
    {
      ThreadArena::Binding binding(inner);
      AllocateInto(bound, kBlock, 4);
    }
    AllocateInto(after, kBlock, 4);
    outer.Bind();  // still bound: no change
    // Four blocks each; reading the statistics allocates a little more.
    const uint64_t inner_grew =
        CaptureArenaStats(inner.arena()).memory.allocated - inner_before;
    const uint64_t outer_grew =
        CaptureArenaStats(outer.arena()).memory.allocated - outer_before;
    CHECK(inner_grew >= 4 * kBlock);
    CHECK(inner_grew < 5 * kBlock);
    CHECK(outer_grew >= 4 * kBlock);
    CHECK(outer_grew < 5 * kBlock);
    FreeBlocks(bound, kBlock);
    FreeBlocks(after, kBlock);
  });
  worker.join();
}

TEST_CASE(
    "a Scope counts what its thread freed and purges past the "
    "threshold") {
  ThreadArena& arena =
      ThreadArena::Named("thread_arena_test_scope",
                         {.dirty_decay_ms = -1, .purge_threshold = 8 << 20});
  constexpr size_t kBlock = 512 << 10;
  std::thread worker([&] {
    {
      ThreadArena::Scope scope(arena);  // 4 MiB freed: below the threshold
      FreeBlocks(AllocateBlocks(kBlock, 8), kBlock);
    }
    ArenaStats once = CaptureArenaStats(arena.arena());
    CHECK(once.purges == 0);
    CHECK(once.memory.dirty >= 4u << 20);  // decay never runs: still held
    {
      ThreadArena::Scope scope(arena);  // 8 MiB in all: purged
      FreeBlocks(AllocateBlocks(kBlock, 8), kBlock);
    }
  });
  worker.join();
  ArenaStats after = CaptureArenaStats(arena.arena());
  REQUIRE(after.purges == 1);
  REQUIRE(after.memory.dirty == 0);
  REQUIRE(after.purged_bytes >= 4u << 20);
}

TEST_CASE("a Scope that freed past flush_threshold empties the thread cache") {
  ThreadArena& arena = ThreadArena::Named(
      "thread_arena_test_flush",
      {.purge_threshold = size_t{1} << 40, .flush_threshold = 64 << 10});
  constexpr size_t kSmall = 1024;  // cached by the thread when freed
  std::thread worker([&] {
    ThreadArena::Scope scope(arena);
    const uint64_t before = CaptureArenaStats(arena.arena()).memory.allocated;
    {
      ThreadArena::Scope inner(arena);
      FreeBlocks(AllocateBlocks(kSmall, 256), kSmall);
    }
    // The freed regions are back in the arena's slabs, not in the cache
    // (which jemalloc counts as allocated).
    CHECK(CaptureArenaStats(arena.arena()).memory.allocated <= before);
  });
  worker.join();
}

TEST_CASE("a thread bound without thread_cache keeps no freed regions") {
  ThreadArena& arena =
      ThreadArena::Named("thread_arena_test_no_cache", {.thread_cache = false});
  constexpr size_t kSmall = 1024;  // a cached class when a cache is on
  std::thread worker([&] {
    arena.Bind();
    bool enabled = true;
    size_t size = sizeof(enabled);
    REQUIRE(mallctl("thread.tcache.enabled", &enabled, &size, nullptr, 0) == 0);
    CHECK_FALSE(enabled);
    const uint64_t before = CaptureArenaStats(arena.arena()).memory.allocated;
    FreeBlocks(AllocateBlocks(kSmall, 256), kSmall);
    // No Scope, no flush: the regions went straight back to the slabs.
    CHECK(CaptureArenaStats(arena.arena()).memory.allocated <= before);
  });
  worker.join();
}

TEST_CASE("ThreadDeallocatedBytes counts the calling thread's frees") {
  const uint64_t before = ThreadDeallocatedBytes();
  FreeBlocks(AllocateBlocks(4096, 4), 4096);
  REQUIRE(ThreadDeallocatedBytes() - before >= 4 * 4096);
}

}  // namespace
}  // namespace keel::alloc
