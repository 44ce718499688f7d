// ChunkWindow: the sealed chunks of one time window, packed Beringei-style:
// exact chunk bytes bump-allocated in blocks (4 KiB doubling to 64 KiB), so
// sealed chunks carry no size-class slack and dropping the window frees
// whole blocks. Under SealedChunkLayout::kOwnBuffer it instead adopts each
// chunk's own buffer. Windows are shared_ptr-owned: by the store while the
// window is retained, and by every SeriesSet reading its chunks, so the last
// owner frees the memory.
//
// Thread safety: Pack and Adopt may be called from any thread.
#ifndef KEEL_CORE_INTERNAL_CHUNK_WINDOW_H_
#define KEEL_CORE_INTERNAL_CHUNK_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "keel/alloc/arena_allocator.h"
#include "keel/core/internal/chunk_allocator.h"

namespace keel::core::core_internal {

class ChunkWindow {
 public:
  static constexpr std::size_t kFirstBlock = 4u << 10;
  static constexpr std::size_t kMaxBlock = 64u << 10;

  // REQUIRES: `memory` outlives the window.
  ChunkWindow(int64_t index, ChunkAllocator& memory);
  ~ChunkWindow();
  ChunkWindow(const ChunkWindow&) = delete;
  ChunkWindow& operator=(const ChunkWindow&) = delete;

  int64_t index() const { return index_; }

  // Copies `bytes` into the window's blocks; the copy lives as long as the
  // window. REQUIRES: bytes non-empty.
  const uint8_t* Pack(std::span<const uint8_t> bytes);
  // Takes ownership of a buffer from `memory` of `capacity` bytes.
  void Adopt(uint8_t* buffer, std::size_t capacity);

 private:
  struct Buffer {
    uint8_t* data;
    std::size_t bytes;
  };
  using Buffers = std::vector<Buffer, alloc::ArenaAllocator<Buffer>>;

  const int64_t index_;
  ChunkAllocator& memory_;
  std::mutex mu_;
  Buffers blocks_ ABSL_GUARDED_BY(mu_);
  std::size_t block_used_ ABSL_GUARDED_BY(mu_) = 0;
  Buffers own_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_INTERNAL_CHUNK_WINDOW_H_
