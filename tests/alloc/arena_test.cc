#include "alloc/arena.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "alloc/size_classes.h"
#include "alloc/stats.h"

namespace keel::alloc {
namespace {

TEST_CASE("allocated equals count times class size after known allocations") {
  Arena arena("arena_test");
  REQUIRE(CaptureArenaStats(arena).memory.allocated == 0);
  const auto& classes = SizeClasses::Get();
  for (size_t size : {1, 8, 100, 1000, 5000, 20000, 100000}) {
    constexpr size_t kCount = 257;
    std::vector<void*> objects;
    for (size_t i = 0; i < kCount; ++i) objects.push_back(arena.Allocate(size));
    REQUIRE(CaptureArenaStats(arena).memory.allocated ==
            kCount * classes.RoundUp(size));
    for (void* p : objects) arena.Deallocate(p, size);
    REQUIRE(CaptureArenaStats(arena).memory.allocated == 0);
  }
}

TEST_CASE("reallocate keeps contents and moves between classes") {
  Arena arena("arena_test");
  auto* p = static_cast<char*>(arena.Allocate(16));
  std::memcpy(p, "0123456789abcdef", 16);
  p = static_cast<char*>(arena.Reallocate(p, 4000));
  REQUIRE(std::memcmp(p, "0123456789abcdef", 16) == 0);
  REQUIRE(CaptureArenaStats(arena).memory.allocated ==
          SizeClasses::Get().RoundUp(4000));
  p = static_cast<char*>(arena.Reallocate(p, 8));
  REQUIRE(std::memcmp(p, "01234567", 8) == 0);
  REQUIRE(CaptureArenaStats(arena).memory.allocated == 8);
  arena.Deallocate(p, 8);
}

TEST_CASE("shrink in place keeps the address and gives the tail back") {
  Arena arena("arena_test");
  const auto& classes = SizeClasses::Get();
  constexpr std::size_t kBlock = std::size_t{1} << 20;
  auto* p = static_cast<char*>(arena.Allocate(kBlock));
  std::memset(p, 7, 100000);
  std::size_t now = arena.ShrinkInPlace(p, kBlock, 100000);
  REQUIRE(now == classes.RoundUp(100000));
  REQUIRE(CaptureArenaStats(arena).memory.allocated == now);
  REQUIRE(std::all_of(p, p + 100000, [](char c) { return c == 7; }));
  // Down to a few bytes: the smallest large class, never a move.
  std::size_t least = arena.ShrinkInPlace(p, now, 10);
  REQUIRE_FALSE(classes.IsSmall(least));
  REQUIRE(least < now);
  REQUIRE(arena.ShrinkInPlace(p, least, 10) == least);
  REQUIRE(std::all_of(p, p + 10, [](char c) { return c == 7; }));
  arena.Deallocate(p, least);
  REQUIRE(CaptureArenaStats(arena).memory.allocated == 0);
  // A small class stays as it is.
  void* q = arena.Allocate(1000);
  REQUIRE(arena.ShrinkInPlace(q, 1000, 10) == 1000);
  arena.Deallocate(q, 1000);
}

// jemalloc gives every large extent a page beyond its class so that the
// allocation may start at a random cache line; filled to its end, it would
// then touch that page too. The arena's large allocations start on a page,
// so the extra page stays untouched (not resident).
TEST_CASE("large allocations start on a page boundary") {
  Arena arena("arena_test");
  const auto& classes = SizeClasses::Get();
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t bytes :
       {classes.small().back().size + 1, std::size_t{20000},
        std::size_t{1} << 20, (std::size_t{1} << 20) - 100}) {
    for (int i = 0; i < 8; ++i) {
      void* p = arena.Allocate(bytes);
      CHECK(reinterpret_cast<std::uintptr_t>(p) % SizeClasses::kLargePad == 0);
      blocks.emplace_back(p, bytes);
    }
  }
  // Grown or shrunk into a large class, too.
  void* small = arena.Allocate(100);
  void* grown = arena.Reallocate(small, 300000);
  CHECK(reinterpret_cast<std::uintptr_t>(grown) % SizeClasses::kLargePad == 0);
  std::size_t kept = arena.ShrinkInPlace(grown, 300000, 70000);
  arena.Deallocate(grown, kept);
  for (auto [p, bytes] : blocks) arena.Deallocate(p, bytes);
  CHECK(CaptureArenaStats(arena).memory.allocated == 0);
}

TEST_CASE("arenas are separate and moves keep the arena") {
  Arena a("first");
  Arena b("second");
  REQUIRE(a.index() != b.index());
  void* p = a.Allocate(64);
  REQUIRE(CaptureArenaStats(a).memory.allocated == 64);
  REQUIRE(CaptureArenaStats(b).memory.allocated == 0);
  unsigned index = a.index();
  Arena moved(std::move(a));
  REQUIRE(moved.index() == index);
  REQUIRE(moved.name() == "first");
  moved.Deallocate(p, 64);
  b = std::move(moved);  // destroys "second", which is empty
  REQUIRE(b.index() == index);
}

TEST_CASE("a second live arena with the same name gets its index appended") {
  Arena a("same");
  Arena b("same");
  REQUIRE(a.name() == "same");
  REQUIRE(b.name() == "same." + std::to_string(b.index()));
}

TEST_CASE("frees show in the arena's figures at once, with no thread cache") {
  Arena arena("arena_test");
  std::vector<void*> objects;
  for (int i = 0; i < 1000; ++i) objects.push_back(arena.Allocate(48));
  arena.Deallocate(objects.back(), 48);
  objects.pop_back();
  REQUIRE(CaptureArenaStats(arena).memory.allocated == 999 * 48);
  for (void* p : objects) arena.Deallocate(p, 48);
}

// The VmFlags line of the /proc/self/smaps entry mapping `p`.
std::string VmFlagsOf(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2) {
      inside = begin <= address && address < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

bool AdvisedHuge(const void* p) {
  return VmFlagsOf(p).find(" hg") != std::string::npos;
}

TEST_CASE("a huge-page arena advises huge pages on what it maps") {
  Arena huge("huge_test", {.huge_pages = true});
  Arena plain("plain_test");
  constexpr size_t kLarge = 8u << 20;
  void* big = huge.Allocate(kLarge);
  void* small = huge.Allocate(64);
  void* other = plain.Allocate(kLarge);
  REQUIRE(!VmFlagsOf(big).empty());
  CHECK(AdvisedHuge(big));
  CHECK(AdvisedHuge(small));
  CHECK_FALSE(AdvisedHuge(other));
  std::memset(big, 1, kLarge);  // the memory works as any other
  REQUIRE(CaptureArenaStats(huge).memory.allocated ==
          SizeClasses::Get().RoundUp(kLarge) + 64);
  huge.Deallocate(big, kLarge);
  huge.Deallocate(small, 64);
  plain.Deallocate(other, kLarge);
}

bool AdvisedNoHuge(const void* p) {
  return VmFlagsOf(p).find(" nh") != std::string::npos;
}

TEST_CASE("a huge-page arena's advice switches off and on, and back on reuse") {
  constexpr size_t kLarge = 8u << 20;
  unsigned index = 0;
  {
    Arena huge("huge_switch", {.huge_pages = true});
    index = huge.index();
    void* before = huge.Allocate(kLarge);
    huge.AdviseHugePages(false);
    CHECK(AdvisedNoHuge(before));  // what it mapped while on
    CHECK_FALSE(AdvisedHuge(before));
    void* after = huge.Allocate(4 * kLarge);  // beyond what it has mapped
    CHECK_FALSE(AdvisedHuge(after));
    std::memset(after, 1, 4 * kLarge);  // the memory works as any other
    huge.AdviseHugePages(true);
    CHECK(AdvisedHuge(before));
    CHECK(AdvisedHuge(after));
    huge.AdviseHugePages(false);
    huge.Deallocate(before, kLarge);
    huge.Deallocate(after, 4 * kLarge);
  }
  // The next arena of its kind takes it, advising again.
  Arena again("huge_switch_again", {.huge_pages = true});
  REQUIRE(again.index() == index);
  void* p = again.Allocate(kLarge);
  CHECK(AdvisedHuge(p));
  again.Deallocate(p, kLarge);
  Arena plain("plain_switch");
  plain.AdviseHugePages(true);  // no hooks: nothing to advise
  void* q = plain.Allocate(kLarge);
  CHECK_FALSE(AdvisedHuge(q));
  plain.Deallocate(q, kLarge);
}

TEST_CASE(
    "an emptied arena is reused: making arenas repeatedly costs no memory") {
  // jemalloc keeps ~4 KiB of every arena it destroys: 4,000 destroyed
  // arenas would have grown its resident memory by ~16 MB. (jemalloc's own
  // figure: a sanitizer's allocator grows the process's RSS meanwhile.)
  auto churn = [](bool huge_pages) {
    Arena arena("churn", {.huge_pages = huge_pages});
    std::vector<void*> blocks;
    for (size_t size = 16; size < 40000; size = size * 3 / 2 + 8) {
      blocks.push_back(arena.Allocate(size));
    }
    size_t size = 16;
    for (void* p : blocks) {
      arena.Deallocate(p, size);
      size = size * 3 / 2 + 8;
    }
    return arena.index();
  };
  for (int i = 0; i < 50; ++i) churn(i % 2 == 0);  // warm both kinds
  uint64_t before = CaptureStats().memory.resident;
  unsigned first_plain = churn(false), first_huge = churn(true);
  for (int i = 0; i < 4000; ++i) {
    CHECK(churn(false) == first_plain);
    CHECK(churn(true) == first_huge);
  }
  CHECK(CaptureStats().memory.resident < before + (2u << 20));
  // The reused arena keeps the hooks of its kind.
  Arena huge("huge_again", {.huge_pages = true});
  void* p = huge.Allocate(4u << 20);
  CHECK(AdvisedHuge(p));
  huge.Deallocate(p, 4u << 20);
}

#ifndef NDEBUG
TEST_CASE("destroying an arena with live allocations aborts in debug builds") {
  // Checked in a child so the abort does not end the test run.
  pid_t pid = fork();
  if (pid == 0) {
    Arena* arena = new Arena("leaky");
    arena->Allocate(10);
    delete arena;
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGABRT);
}
#endif

}  // namespace
}  // namespace keel::alloc
