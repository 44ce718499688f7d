// ScratchArena: where a snapshot's write, verification or restore puts its
// temporaries (the cut's chunk lists and their order, the parser's table of
// sealed entries, the chunk checker's batches, the restore's symbol maps),
// so that they leave nothing resident behind.
//
// Those temporaries are plain allocations of tens of MB that grow by
// doubling and die together. In an automatic arena their freed pages stayed
// dirty until jemalloc's decay next ran there: a restore peaked that much
// over the store it built, and a server kept a written snapshot's lists
// resident. Bound here, the thread allocates them from the "snapshot"
// ThreadArena, which returns freed pages at once (no decay delay) and is
// purged when the operation ends. What the operation builds to keep (the
// store's chunks, index and records) lives in the store's own arena.
//
//   {
//     ScratchArena scratch;
//     ... parse, restore ...
//   }  // the thread's earlier arena again; the scratch's pages returned
//
// Thread safety: binds the calling thread only. Operations on several
// threads may share the arena; a purge returns only free pages.
#ifndef KEEL_SNAPSHOT_INTERNAL_SCRATCH_ARENA_H_
#define KEEL_SNAPSHOT_INTERNAL_SCRATCH_ARENA_H_

#include <optional>

#include "alloc/thread_arena.h"

namespace keel::snapshot::snapshot_internal {

class ScratchArena {
 public:
  ScratchArena();
  ~ScratchArena();
  ScratchArena(const ScratchArena&) = delete;
  ScratchArena& operator=(const ScratchArena&) = delete;

 private:
  alloc::ThreadArena& arena_;
  std::optional<alloc::ThreadArena::Binding> binding_;
};

}  // namespace keel::snapshot::snapshot_internal

#endif  // KEEL_SNAPSHOT_INTERNAL_SCRATCH_ARENA_H_
