// QueryContext: what one query may spend, and whether it should stop: a
// deadline, a cancellation predicate (such as "the client hung up"), and
// budgets for the samples it produces and the bytes it holds for its answer.
// Selection (SeriesStore::Select with a context) and evaluation charge their
// work to it as they go and stop once it fails; the first failure sticks.
//
//   keel::core::QueryContext ctx({.timeout_ms = 200},
//                                [&] { return request.ClientGone(); });
//   auto set = store.Select(matchers, mint, maxt, ctx);
//   if (!set.ok()) return Answer(set.status());   // DeadlineExceeded, ...
//   for (...) {
//     if (!ctx.Work(units) || !ctx.AddSamples(1)) return Answer(ctx.status());
//   }
//
// Failures: DeadlineExceeded "query timed out", Cancelled "query was
// canceled", ResourceExhausted for a budget (the samples one in Prometheus'
// words, the bytes one naming the limit).
//
// Work is counted in units a caller weighs (about a cheap step each: a
// sample decoded, a postings entry, a short regex match); the clock is read
// once every kUnitsPerCheck units, and the cancellation predicate, which may
// make a system call, at most once every kCancelPollInterval, so charging
// work is a counter increment on the hot path.
//
// Thread safety: one thread at a time drives a context; Cancel may be
// called from any thread.
#ifndef KEEL_CORE_SERIES_QUERY_CONTEXT_H_
#define KEEL_CORE_SERIES_QUERY_CONTEXT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>

#include "absl/status/status.h"

namespace keel::core {

struct QueryLimits {
  // <= 0: no deadline.
  int64_t timeout_ms = 2 * 60 * 1000;
  // Samples (points) a query may produce.
  uint64_t max_samples = 50'000'000;
  // Bytes a query may produce for its answer, and, separately, the memory
  // of the label sets it copies from the selected series (strings and
  // their containers, as allocated).
  uint64_t max_result_bytes = uint64_t{256} << 20;

  // No deadline and no budgets, for callers that bound nothing.
  static QueryLimits Unbounded() {
    return {0, std::numeric_limits<uint64_t>::max(),
            std::numeric_limits<uint64_t>::max()};
  }
};

class QueryContext {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr uint64_t kUnitsPerCheck = 1024;
  static constexpr Clock::duration kCancelPollInterval =
      std::chrono::milliseconds(10);

  // The deadline starts now. `cancelled` may be empty.
  explicit QueryContext(const QueryLimits& limits,
                        std::function<bool()> cancelled = {});
  QueryContext(const QueryContext&) = delete;
  QueryContext& operator=(const QueryContext&) = delete;

  // Counts `units` of work; false once the context has failed (now or
  // before): the caller stops and reports status().
  bool Work(uint64_t units = 1) {
    work_ += units;
    if (work_ < next_check_) [[likely]] {
      return status_.ok();
    }
    return CheckNow();
  }
  // Reads the clock and polls cancellation now (the predicate only if
  // kCancelPollInterval has passed since its last poll).
  bool CheckNow();

  // Counts samples the answer holds; false (ResourceExhausted) past
  // max_samples.
  bool AddSamples(uint64_t n);
  // Gives back samples counted by AddSamples that the query no longer
  // holds, so max_samples bounds the samples held at once (Prometheus'
  // --query.max-samples), as the PromQL evaluator counts them.
  // REQUIRES: n <= samples().
  void ReleaseSamples(uint64_t n) { samples_ -= n; }
  // Counts bytes of the answer produced; false past max_result_bytes.
  bool AddResultBytes(uint64_t n);
  // Counts the memory of label sets copied from the selected series; false
  // past max_result_bytes.
  bool AddSelectedBytes(uint64_t n);

  // Makes the next check fail with Cancelled. Any thread.
  void Cancel() { cancel_requested_.store(true, std::memory_order_relaxed); }

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }
  const QueryLimits& limits() const { return limits_; }
  uint64_t samples() const { return samples_; }
  // The most samples held at once so far (Prometheus' peakSamples): with
  // ReleaseSamples, what bounds the query's sample memory.
  uint64_t peak_samples() const { return peak_samples_; }
  uint64_t result_bytes() const { return result_bytes_; }
  uint64_t selected_bytes() const { return selected_bytes_; }

 private:
  bool Fail(absl::Status status);

  const QueryLimits limits_;
  const std::function<bool()> cancelled_;
  const Clock::time_point deadline_;
  Clock::time_point last_cancel_poll_;
  std::atomic<bool> cancel_requested_{false};
  uint64_t work_ = 0;
  uint64_t next_check_ = kUnitsPerCheck;
  uint64_t samples_ = 0;
  uint64_t peak_samples_ = 0;
  uint64_t result_bytes_ = 0;
  uint64_t selected_bytes_ = 0;
  absl::Status status_;
};

}  // namespace keel::core

#endif  // KEEL_CORE_SERIES_QUERY_CONTEXT_H_
