// StripeLock: the lock of one stripe of series. A test-and-set spin lock:
// the section it guards is one append, and absl::Mutex's bookkeeping
// (deadlock detection in Debian's build) cost more than the append itself.
// Waiters spin briefly, then yield.
//
// Thread safety: it is the lock. Not reentrant.
#ifndef KEEL_CORE_SERIES_INTERNAL_SERIES_STRIPE_LOCK_H_
#define KEEL_CORE_SERIES_INTERNAL_SERIES_STRIPE_LOCK_H_

#include <atomic>

#include "absl/base/thread_annotations.h"

namespace keel::core::core_internal {

class ABSL_LOCKABLE StripeLock {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (locked_.exchange(true, std::memory_order_acquire)) [[unlikely]] {
      Contended();
    }
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    locked_.store(false, std::memory_order_release);
  }

 private:
  [[gnu::noinline]] void Contended();
  std::atomic<bool> locked_{false};
};

class ABSL_SCOPED_LOCKABLE StripeGuard {
 public:
  explicit StripeGuard(StripeLock& lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock)
      : lock_(lock) {
    lock_.Lock();
  }
  ~StripeGuard() ABSL_UNLOCK_FUNCTION() { lock_.Unlock(); }
  StripeGuard(const StripeGuard&) = delete;
  StripeGuard& operator=(const StripeGuard&) = delete;

 private:
  StripeLock& lock_;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SERIES_STRIPE_LOCK_H_
