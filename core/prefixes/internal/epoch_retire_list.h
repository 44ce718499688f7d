// RetireList: the blocks a writer has unlinked from a structure that
// readers traverse under an EpochGuard, kept until no reader can reach
// them (the writer's half of epoch_domain.h).
//
// A block replaced since the last publish is deferred; publishing tags the
// deferred blocks with the epoch after the publish (EpochDomain::Advance),
// and Reclaim frees, oldest first, those whose tag no pinned reader
// predates.
//
//   retire_list.Defer(block, capacity);      // unlinked from the working copy
//   root_.store(working, std::memory_order_seq_cst);
//   retire_list.MarkPublished();                // tags what was deferred
//   retire_list.Reclaim(free_block);         // frees what no reader holds
//
// Thread safety: none; the structure's one writer owns it.
#ifndef KEEL_CORE_PREFIXES_INTERNAL_EPOCH_RETIRE_LIST_H_
#define KEEL_CORE_PREFIXES_INTERNAL_EPOCH_RETIRE_LIST_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/prefixes/internal/epoch_domain.h"

namespace keel::core::core_internal {

class RetireList {
 public:
  RetireList() = default;
  RetireList(const RetireList&) = delete;
  RetireList& operator=(const RetireList&) = delete;

  // Keeps `block` until readers that may see it are gone. REQUIRES: the
  // block is unlinked from the working copy, and is still reachable from
  // the published one until the next publish.
  void Defer(void* block, uint32_t capacity) {
    pending_.push_back({block, capacity, 0});
  }

  // After the writer published: the deferred blocks become unreachable to
  // readers pinned from now on.
  void MarkPublished() {
    if (pending_.empty()) return;
    const uint64_t tag = EpochDomain::Advance();
    for (const Retired& r : pending_) {
      retired_.push_back({r.block, r.capacity, tag});
    }
    pending_.clear();
  }

  // Calls free_block(block, capacity) for each retired block no reader can
  // still reach, and forgets it.
  template <class FreeBlock>
  void Reclaim(FreeBlock&& free_block) {
    if (retired_.empty()) return;
    const uint64_t oldest = EpochDomain::OldestPinned();
    size_t freed = 0;
    while (freed < retired_.size() && retired_[freed].tag <= oldest) {
      free_block(retired_[freed].block, retired_[freed].capacity);
      ++freed;
    }
    retired_.erase(retired_.begin(), retired_.begin() + freed);
  }

  // Calls free_block on every block, deferred or retired, and forgets
  // them. REQUIRES: no reader is inside the structure.
  template <class FreeBlock>
  void FreeAll(FreeBlock&& free_block) {
    for (const Retired& r : pending_) free_block(r.block, r.capacity);
    for (const Retired& r : retired_) free_block(r.block, r.capacity);
    pending_.clear();
    retired_.clear();
  }

 private:
  struct Retired {
    void* block;
    uint32_t capacity;
    uint64_t tag;  // free once no reader is pinned before this epoch
  };

  std::vector<Retired> pending_;  // deferred since the last publish
  std::vector<Retired> retired_;  // published-over, in tag order
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_EPOCH_RETIRE_LIST_H_
