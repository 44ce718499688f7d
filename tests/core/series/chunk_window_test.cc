// ChunkWindow: packed chunks read back; Trim gives a closed window's last
// block tail back to the arena without moving or losing a chunk.
#include "core/series/internal/chunk_window.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <span>
#include <vector>

#include "alloc/arena.h"
#include "alloc/size_classes.h"
#include "core/series/internal/chunk_allocator.h"

namespace keel::core::core_internal {
namespace {

std::vector<uint8_t> Chunk(uint32_t i) {
  std::vector<uint8_t> bytes(100 + i % 200);
  for (std::size_t k = 0; k < bytes.size(); ++k) {
    bytes[k] = static_cast<uint8_t>(i * 31 + k);
  }
  return bytes;
}

struct Packed {
  const uint8_t* p;
  uint32_t i;
};

void CheckAll(const ChunkWindow& window, const std::vector<Packed>& packed) {
  for (const Packed& c : packed) {
    std::vector<uint8_t> want = Chunk(c.i);
    REQUIRE(window.Holds(c.p));
    REQUIRE(window.Holds(c.p + want.size() - 1));
    REQUIRE(std::equal(want.begin(), want.end(), c.p));
  }
}

TEST_CASE("Trim shrinks the last block in place and chunks read back") {
  alloc::Arena arena("chunk_window_test");
  ChunkAllocator memory(ChunkMemory::kArena, arena);
  std::vector<Packed> packed;
  {
    ChunkWindow window(0, memory);
    // 4 + 8 + ... + 64 KiB, then blocks of 64 KiB and more: the last is a
    // large block, a little used.
    uint32_t i = 0;
    std::size_t bytes = 0;
    while (bytes < (300u << 10)) {
      std::vector<uint8_t> c = Chunk(i);
      packed.push_back({window.Pack(c), i++});
      bytes += c.size();
    }
    uint64_t held = window.held_bytes();
    REQUIRE(memory.held() == held);
    std::size_t freed = window.Trim();
    REQUIRE(freed > 0);
    REQUIRE(window.held_bytes() == held - freed);
    REQUIRE(memory.held() == held - freed);
    CheckAll(window, packed);
    // Nothing to give back twice.
    REQUIRE(window.Trim() == 0);

    // A chunk sealed late: into the trimmed block's size class if it fits,
    // else a new 4 KiB block; nothing already packed changes.
    uint64_t before_late = window.held_bytes();
    for (int late = 0; late < 50; ++late) {
      std::vector<uint8_t> c = Chunk(i);
      packed.push_back({window.Pack(c), i++});
    }
    REQUIRE(window.held_bytes() - before_late <= 16u << 10);
    CheckAll(window, packed);
    window.Trim();
    CheckAll(window, packed);
  }
  REQUIRE(memory.held() == 0);
}

TEST_CASE("Trim of an empty or small-block window changes nothing") {
  alloc::Arena arena("chunk_window_test");
  ChunkAllocator memory(ChunkMemory::kArena, arena);
  ChunkWindow empty(0, memory);
  REQUIRE(empty.Trim() == 0);
  ChunkWindow small(1, memory);
  std::vector<uint8_t> c = Chunk(7);
  const uint8_t* p = small.Pack(c);
  uint64_t held = small.held_bytes();
  REQUIRE(held == alloc::SizeClasses::Get().RoundUp(ChunkWindow::kFirstBlock));
  small.Trim();  // 4 KiB lives in a slab: no shrink in place
  REQUIRE(small.held_bytes() == held);
  REQUIRE(std::equal(c.begin(), c.end(), p));
}

}  // namespace
}  // namespace keel::core::core_internal
