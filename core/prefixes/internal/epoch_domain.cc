#include "core/prefixes/internal/epoch_domain.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace keel::core::core_internal {

namespace {

struct alignas(64) ReaderSlot {
  std::atomic<uint64_t> epoch{EpochDomain::kIdle};
  std::atomic<bool> claimed{false};
};

std::atomic<uint64_t> global_epoch{1};
ReaderSlot slots[EpochDomain::kMaxReaders];
// Slots at or past this index have never been claimed; scans stop here.
std::atomic<int> slots_in_use{0};

[[noreturn]] [[gnu::cold]] [[gnu::noinline]] void TooManyReaders() {
  std::fprintf(stderr,
               "keel: more than %d threads read keel tables at once; "
               "the epoch domain has no slot left\n",
               EpochDomain::kMaxReaders);
  std::abort();
}

// Gives the thread's slot back when the thread exits.
struct SlotReleaser {
  ~SlotReleaser() {
    int slot = tls_epoch_reader.slot;
    if (slot < 0) return;
    slots[slot].epoch.store(EpochDomain::kIdle, std::memory_order_release);
    slots[slot].claimed.store(false, std::memory_order_release);
    tls_epoch_reader.slot = -1;
  }
};

[[gnu::noinline]] int ClaimSlot() {
  static thread_local SlotReleaser releaser;
  (void)releaser;  // constructed here so that it runs at thread exit
  for (int i = 0; i < EpochDomain::kMaxReaders; ++i) {
    bool expected = false;
    if (!slots[i].claimed.load(std::memory_order_relaxed) &&
        slots[i].claimed.compare_exchange_strong(expected, true,
                                                 std::memory_order_acq_rel)) {
      int in_use = slots_in_use.load(std::memory_order_relaxed);
      while (in_use <= i && !slots_in_use.compare_exchange_weak(
                                in_use, i + 1, std::memory_order_seq_cst)) {
      }
      return i;
    }
  }
  TooManyReaders();
}

}  // namespace

uint64_t EpochDomain::Advance() {
  return global_epoch.fetch_add(1, std::memory_order_seq_cst) + 1;
}

uint64_t EpochDomain::OldestPinned() {
  uint64_t oldest = std::numeric_limits<uint64_t>::max();
  int in_use = slots_in_use.load(std::memory_order_seq_cst);
  for (int i = 0; i < in_use; ++i) {
    uint64_t e = slots[i].epoch.load(std::memory_order_seq_cst);
    if (e != kIdle && e < oldest) oldest = e;
  }
  return oldest;
}

void EpochDomain::Pin(EpochReaderState& state) {
  if (state.slot < 0) state.slot = ClaimSlot();
  // The exchange is the full barrier the protocol in the header relies on.
  slots[state.slot].epoch.exchange(global_epoch.load(std::memory_order_seq_cst),
                                   std::memory_order_seq_cst);
}

void EpochDomain::Unpin(const EpochReaderState& state) {
  slots[state.slot].epoch.store(kIdle, std::memory_order_release);
}

}  // namespace keel::core::core_internal
