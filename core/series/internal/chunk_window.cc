#include "core/series/internal/chunk_window.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>

namespace keel::core::core_internal {

ChunkWindow::ChunkWindow(int64_t index, ChunkAllocator& memory)
    : index_(index),
      memory_(memory),
      blocks_(alloc::ArenaAllocator<Buffer>(memory.arena())),
      own_(alloc::ArenaAllocator<Buffer>(memory.arena())) {}

ChunkWindow::~ChunkWindow() {
  for (const Buffer& b : blocks_) memory_.Free(b.data, b.bytes);
  for (const Buffer& b : own_) memory_.Free(b.data, b.bytes);
}

const uint8_t* ChunkWindow::PackLocked(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxBlock / 8) {
    // Too big to pack without wasting a block's tail: its own allocation.
    uint8_t* p = memory_.AllocateUninitialized(bytes.size());
    own_.push_back({p, bytes.size()});
    held_ += memory_.Held(bytes.size());
    std::memcpy(p, bytes.data(), bytes.size());
    return p;
  }
  if (blocks_.empty() || blocks_.back().bytes - block_used_ < bytes.size()) {
    std::size_t size = NextBlock();
    // Only the bytes handed out are ever read, each after its copy.
    blocks_.push_back({memory_.AllocateUninitialized(size), size});
    block_bytes_ += size;
    held_ += memory_.Held(size);
    block_used_ = 0;
  }
  uint8_t* p = blocks_.back().data + block_used_;
  std::memcpy(p, bytes.data(), bytes.size());
  block_used_ += bytes.size();
  return p;
}

std::size_t ChunkWindow::Trim() {
  std::lock_guard lock(mu_);
  fresh_from_ = blocks_.size();
  if (blocks_.empty()) return 0;
  Buffer& last = blocks_.back();
  std::size_t now = memory_.ShrinkInPlace(last.data, last.bytes, block_used_);
  if (now >= last.bytes) return 0;
  std::size_t freed = last.bytes - now;
  held_ -= memory_.Held(last.bytes) - memory_.Held(now);
  block_bytes_ -= freed;
  last.bytes = now;
  return freed;
}

std::size_t ChunkWindow::NextBlock() const {
  if (blocks_.size() == fresh_from_) return kFirstBlock;
  std::size_t last = blocks_.back().bytes;
  if (last < kDoublingEnd) return last * 2;
  // Powers of two: each is a large size class of its own.
  return std::min(kMaxBlock, std::max(last, std::bit_floor(block_bytes_ / 8)));
}

bool ChunkWindow::Holds(const uint8_t* p) const {
  std::lock_guard lock(mu_);
  auto in = [p](const Buffer& b) {
    return std::less_equal<const uint8_t*>()(b.data, p) &&
           std::less<const uint8_t*>()(p, b.data + b.bytes);
  };
  return std::any_of(blocks_.begin(), blocks_.end(), in) ||
         std::any_of(own_.begin(), own_.end(), in);
}

}  // namespace keel::core::core_internal
