// Epoch-based reclamation for structures with one writer and lock-free
// readers (PrefixTable's tries): a reader pins the global epoch while it
// reads; the writer retires what it unlinked, tagged with the epoch after
// the unlink, and frees it once no reader is pinned at an older epoch.
//
//   {
//     EpochGuard guard;                  // reader: pins (reentrant)
//     const Node* root = root_.load(std::memory_order_seq_cst);
//     ... read freely; nothing reachable from root is freed meanwhile ...
//   }
//   // writer, after root_.store(new_root, std::memory_order_seq_cst):
//   uint64_t tag = EpochDomain::Advance();     // retire unlinked nodes at tag
//   if (EpochDomain::OldestPinned() >= tag) { ... free them ... }
//
// Why it is safe: a reader pins with a seq_cst exchange, then loads the
// root with seq_cst; the writer stores the root with seq_cst, advances the
// epoch, then reads every slot. In the single total order either the
// reader's pin precedes the writer's scan (the writer sees the pin, at an
// epoch older than the tag, and waits) or it follows it (the reader's root
// load then sees the new root and never reaches an unlinked node).
//
// The domain is process-wide: a thread pinned while reading one table holds
// back reclamation (never progress) of every table. Each thread that ever
// reads claims one cache-line slot for its lifetime; at most kMaxReaders
// threads may hold one at a time (exceeding it aborts with a message).
//
// Thread safety: EpochGuard on any thread; Advance and OldestPinned from any
// writer thread (writers of different tables may run at once).
#ifndef KEEL_CORE_PREFIXES_INTERNAL_EPOCH_DOMAIN_H_
#define KEEL_CORE_PREFIXES_INTERNAL_EPOCH_DOMAIN_H_

#include <cstdint>

namespace keel::core::core_internal {

// A thread's reader state: its slot, claimed on first pin, and how many
// EpochGuards it holds.
struct EpochReaderState {
  int slot = -1;
  int depth = 0;
};
inline thread_local constinit EpochReaderState tls_epoch_reader;

class EpochDomain {
 public:
  static constexpr int kMaxReaders = 4096;
  static constexpr uint64_t kIdle = 0;  // a slot's value when not pinned

  // Moves the global epoch on and returns the new value: anything unlinked
  // before this call is unreachable to readers pinned at this epoch or later.
  static uint64_t Advance();
  // The oldest epoch some reader is pinned at, or UINT64_MAX when none is.
  static uint64_t OldestPinned();

  // Reader side; use EpochGuard.
  static void Pin(EpochReaderState& state);
  static void Unpin(const EpochReaderState& state);
};

// Pins the epoch for its scope; nested guards on one thread cost a counter.
class EpochGuard {
 public:
  EpochGuard() {
    EpochReaderState& state = tls_epoch_reader;
    if (state.depth++ == 0) EpochDomain::Pin(state);
  }
  ~EpochGuard() {
    EpochReaderState& state = tls_epoch_reader;
    if (--state.depth == 0) EpochDomain::Unpin(state);
  }
  EpochGuard(const EpochGuard&) = delete;
  EpochGuard& operator=(const EpochGuard&) = delete;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_EPOCH_DOMAIN_H_
