#include "snapshot/internal/scratch_arena.h"

namespace keel::snapshot::snapshot_internal {

ScratchArena::ScratchArena()
    : arena_(alloc::ThreadArena::Named(
          "snapshot", {.dirty_decay_ms = 0, .muzzy_decay_ms = 0})) {
  binding_.emplace(arena_);
}

ScratchArena::~ScratchArena() {
  binding_.reset();  // flushes the thread's cache into the arena first
  arena_.Purge();
}

}  // namespace keel::snapshot::snapshot_internal
