#include "core/series/internal/series_stripe_lock.h"

#include <sched.h>

namespace keel::core::core_internal {

void StripeLock::Contended() {
  for (unsigned spins = 0;; ++spins) {
    // Wait for a release before trying again, without writing the line.
    while (locked_.load(std::memory_order_relaxed)) {
      if (spins < 64) {
        __builtin_ia32_pause();
        ++spins;
      } else {
        sched_yield();
      }
    }
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
  }
}

}  // namespace keel::core::core_internal
