// ThreadArena: a named arena for the ordinary allocations (malloc, new, the
// default allocator of every container and library) of the threads bound to
// it.
//
// Use it for threads whose allocations cannot be handed an allocator: a
// server's request workers run civetweb, protobuf, snappy and the JSON
// writers, which all allocate with plain new. Bound to a ThreadArena, what
// they allocate shows under its name in the statistics (alloc/stats.h), and
// the pages they free go back to the kernel on the arena's own settings
// instead of sitting dirty in jemalloc's automatic arenas, where decay runs
// only when the same arena is busy again.
//
//   alloc::ThreadArena& requests =
//       alloc::ThreadArena::Named("http", {.dirty_decay_ms = 1000});
//   // on a worker thread, around each request:
//   alloc::ThreadArena::Scope scope(requests);  // binds the thread (once)
//   ... handle the request ...
//   // ~Scope: the bytes the request freed count toward the next purge
//
// A ThreadArena lives as long as the process: memory its threads allocate
// may be freed by any thread at any time, even after the code that bound
// them is gone, so it is never reset or destroyed. The thread's own cache
// (jemalloc's tcache) still serves small allocations; a Scope whose thread
// freed many bytes flushes it, so that freed memory is not held per thread.
//
// Thread safety: Named, Bind, Binding and Scope may be used from any thread.
#ifndef KEEL_ALLOC_THREAD_ARENA_H_
#define KEEL_ALLOC_THREAD_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "alloc/arena.h"
#include "alloc/purge.h"

namespace keel::alloc {

struct ThreadArenaOptions {
  // jemalloc's decay times for the arena's freed pages: dirty pages become
  // muzzy (MADV_FREE) over dirty_decay_ms, muzzy pages are released over
  // muzzy_decay_ms; 0 releases at once, -1 never. Decay advances only while
  // the arena is in use; purges cover the quiet time after.
  int64_t dirty_decay_ms = 1000;
  int64_t muzzy_decay_ms = 0;
  // Bytes freed by bound threads (counted by Scopes) that trigger a purge
  // of the whole arena.
  std::size_t purge_threshold = PurgePolicy::kDefaultThreshold;
  // A Scope whose thread freed at least this many bytes flushes the
  // thread's cache on leaving.
  std::size_t flush_threshold = std::size_t{1} << 20;
  // False: Bind turns the thread's cache off. Every thread's cache costs
  // tens of KB of bins, mostly in jemalloc's first automatic arena; worth
  // it for a few busy threads, not for hundreds of mostly idle ones whose
  // caches would be flushed after each request anyway.
  bool thread_cache = true;
};

class ThreadArena {
 public:
  // The process-wide ThreadArena called `name`, created with `options` on
  // the first call; later calls return it and ignore their options.
  static ThreadArena& Named(const std::string& name,
                            ThreadArenaOptions options = {});

  ThreadArena(const ThreadArena&) = delete;
  ThreadArena& operator=(const ThreadArena&) = delete;

  // Sends the calling thread's plain allocations here from now on (its
  // earlier ones stay where they are), with its cache off unless
  // thread_cache. Cheap when already bound.
  void Bind();

  // Counts `bytes` freed by a bound thread toward the next purge; purges
  // the arena once they reach purge_threshold. Returns the resident bytes
  // a purge released (0 when none ran).
  uint64_t Freed(std::size_t bytes);

  // Returns the arena's freed pages to the kernel now; returns how far its
  // resident bytes fell. For the end of a bulk operation bound here (a
  // snapshot's write or restore), whose temporaries are all freed.
  uint64_t Purge();

  const Arena& arena() const { return arena_; }
  const ThreadArenaOptions& options() const { return options_; }

  // Sends the calling thread's plain allocations here while it lives, then
  // back to the arena the thread used before: for a call that allocates, on
  // a thread of its own, what the bound threads will use (civetweb's start
  // allocates every worker's connection state on the starting thread).
  class Binding {
   public:
    explicit Binding(ThreadArena& arena);
    ~Binding();
    Binding(const Binding&) = delete;
    Binding& operator=(const Binding&) = delete;

   private:
    unsigned previous_index_ = 0;
    unsigned previous_bound_;
  };

  // Binds the thread for a unit of work (a request) and, when it ends,
  // counts what the thread freed meanwhile (jemalloc's per-thread
  // deallocation counter): flushes the thread's cache past flush_threshold,
  // and feeds Freed.
  class Scope {
   public:
    explicit Scope(ThreadArena& arena);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    ThreadArena& arena_;
    uint64_t deallocated_at_start_;
  };

 private:
  ThreadArena(std::string name, const ThreadArenaOptions& options);

  Arena arena_;
  const ThreadArenaOptions options_;
  PurgePolicy purge_;
};

// Bytes the calling thread has freed since it started (jemalloc's
// thread.deallocated).
uint64_t ThreadDeallocatedBytes();

// Returns the calling thread's cached free regions to their arenas.
void FlushThreadCache();

}  // namespace keel::alloc

#endif  // KEEL_ALLOC_THREAD_ARENA_H_
