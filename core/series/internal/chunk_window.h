// ChunkWindow: the sealed chunks of one time window, packed Beringei-style:
// exact chunk bytes bump-allocated in blocks, so sealed chunks carry no
// size-class slack and dropping the window frees whole blocks. Blocks double
// from 4 KiB to 64 KiB, then are an eighth of the window's blocks so far, up
// to 1 MiB: jemalloc pads every large allocation with a page (cache-oblivious
// placement), which large blocks make small, while the last block's unused
// tail stays within an eighth of a small window (docs/churn.md has the sizes
// measured). Once the window takes no more appends, Trim shrinks its last
// block in place to the size class that holds what was packed into it, so
// the tail goes back to the arena; a chunk sealed into the window later
// (a series idle since then) starts a new block, 4 KiB first. Under
// SealedChunkLayout::kOwnBuffer it instead adopts each chunk's own buffer.
// Windows are shared_ptr-owned: by the store while the window is retained, and
// by every SeriesSet reading its chunks, so the last owner frees the memory.
//
// Sealing (SeriesStoreImpl::SealWindows) replaces a window that takes no
// more appends by a new one holding its chunks in the sealed encoding. The
// old window holds the new one as its successor, so a reader that took the
// old one before the swap also holds the sealed entries it may meet after;
// until every ref is swapped the new one holds the old one as its
// predecessor (a reader holding the new window holds both).
//
// Thread safety: Pack, Adopt, Trim, Holds and held_bytes may be called from
// any thread; predecessor, successor and sealed are guarded by the store's
// window lock.
#ifndef KEEL_CORE_SERIES_INTERNAL_CHUNK_WINDOW_H_
#define KEEL_CORE_SERIES_INTERNAL_CHUNK_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "alloc/arena_allocator.h"
#include "core/series/internal/chunk_allocator.h"

namespace keel::core::core_internal {

class ChunkWindow {
 public:
  static constexpr std::size_t kFirstBlock = 4u << 10;
  static constexpr std::size_t kDoublingEnd = 64u << 10;
  static constexpr std::size_t kMaxBlock = 1024u << 10;

  // REQUIRES: `memory` outlives the window.
  ChunkWindow(int64_t index, ChunkAllocator& memory);
  ~ChunkWindow();
  ChunkWindow(const ChunkWindow&) = delete;
  ChunkWindow& operator=(const ChunkWindow&) = delete;

  int64_t index() const { return index_; }
  // Bytes this window's blocks and own buffers hold (their size classes).
  uint64_t held_bytes() const {
    std::lock_guard lock(mu_);
    return held_;
  }
  // Whether `p` lies in one of this window's blocks or buffers.
  bool Holds(const uint8_t* p) const;

  const std::shared_ptr<const ChunkWindow>& predecessor() const {
    return predecessor_;
  }
  void set_predecessor(std::shared_ptr<const ChunkWindow> window) {
    predecessor_ = std::move(window);
  }
  void set_successor(std::shared_ptr<const ChunkWindow> window) {
    successor_ = std::move(window);
  }
  // Whether its chunks were re-encoded by sealing.
  bool sealed() const { return sealed_; }
  void set_sealed() { sealed_ = true; }

  // Copies `bytes` into the window's blocks; the copy lives as long as the
  // window. REQUIRES: bytes non-empty.
  const uint8_t* Pack(std::span<const uint8_t> bytes) {
    std::lock_guard lock(mu_);
    return PackLocked(bytes);
  }
  // Takes ownership of a buffer from `memory` of `capacity` bytes.
  void Adopt(uint8_t* buffer, std::size_t capacity) {
    std::lock_guard lock(mu_);
    AdoptLocked(buffer, capacity);
  }

  // Gives the last block's unused tail back to the arena (see above);
  // returns the bytes given back. Chunks already packed never move.
  std::size_t Trim();

  // A buffer of `bytes` from `memory`, owned by the window, for the caller
  // to fill before any reader can see it (sealing packs frames so).
  uint8_t* TakeBuffer(std::size_t bytes) {
    uint8_t* p = memory_.AllocateUninitialized(bytes);
    std::lock_guard lock(mu_);
    AdoptLocked(p, bytes);
    return p;
  }

  // Holds the window's lock across many Pack and Adopt calls (a bulk
  // restore's), which then do not take it one by one.
  class Writer {
   public:
    explicit Writer(ChunkWindow& window) : window_(window), lock_(window.mu_) {}
    const uint8_t* Pack(std::span<const uint8_t> bytes) {
      return window_.PackLocked(bytes);
    }
    void Adopt(uint8_t* buffer, std::size_t capacity) {
      window_.AdoptLocked(buffer, capacity);
    }

   private:
    ChunkWindow& window_;
    std::lock_guard<std::mutex> lock_;
  };

 private:
  struct Buffer {
    uint8_t* data;
    std::size_t bytes;
  };
  using Buffers = std::vector<Buffer, alloc::ArenaAllocator<Buffer>>;

  const uint8_t* PackLocked(std::span<const uint8_t> bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::size_t NextBlock() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AdoptLocked(uint8_t* buffer, std::size_t capacity)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    own_.push_back({buffer, capacity});
    held_ += memory_.Held(capacity);
  }

  const int64_t index_;
  ChunkAllocator& memory_;
  mutable std::mutex mu_;
  uint64_t held_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const ChunkWindow> predecessor_;
  std::shared_ptr<const ChunkWindow> successor_;
  bool sealed_ = false;
  Buffers blocks_ ABSL_GUARDED_BY(mu_);
  std::size_t block_used_ ABSL_GUARDED_BY(mu_) = 0;
  std::size_t block_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // all blocks
  // The number of blocks at the last Trim: the first block after them
  // starts again at kFirstBlock.
  std::size_t fresh_from_ ABSL_GUARDED_BY(mu_) = 0;
  Buffers own_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_CHUNK_WINDOW_H_
