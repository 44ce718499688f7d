#include "core/series/query_context.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace keel::core {

QueryContext::QueryContext(const QueryLimits& limits,
                           std::function<bool()> cancelled)
    : limits_(limits),
      cancelled_(std::move(cancelled)),
      deadline_(limits.timeout_ms > 0
                    ? Clock::now() +
                          std::chrono::milliseconds(limits.timeout_ms)
                    : Clock::time_point::max()),
      last_cancel_poll_(Clock::now()) {}

bool QueryContext::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
  return false;
}

bool QueryContext::CheckNow() {
  next_check_ = work_ + kUnitsPerCheck;
  if (!status_.ok()) return false;
  if (cancel_requested_.load(std::memory_order_relaxed)) {
    return Fail(absl::CancelledError("query was canceled"));
  }
  Clock::time_point now = Clock::now();
  if (now >= deadline_) {
    return Fail(absl::DeadlineExceededError(absl::StrCat(
        "query timed out (the limit is ", limits_.timeout_ms, " ms)")));
  }
  if (cancelled_ && now - last_cancel_poll_ >= kCancelPollInterval) {
    last_cancel_poll_ = now;
    if (cancelled_()) return Fail(absl::CancelledError("query was canceled"));
  }
  return true;
}

bool QueryContext::AddSamples(uint64_t n) {
  samples_ += n;
  if (samples_ > peak_samples_) peak_samples_ = samples_;
  if (samples_ > limits_.max_samples) {
    // Prometheus' words, which clients may look for.
    return Fail(absl::ResourceExhaustedError(
        "query processing would load too many samples into memory in query "
        "execution"));
  }
  return status_.ok();
}

bool QueryContext::AddResultBytes(uint64_t n) {
  result_bytes_ += n;
  if (result_bytes_ > limits_.max_result_bytes) {
    return Fail(absl::ResourceExhaustedError(
        absl::StrCat("query result would exceed ", limits_.max_result_bytes,
                     " bytes (the query's result byte limit)")));
  }
  return status_.ok();
}

bool QueryContext::AddSelectedBytes(uint64_t n) {
  selected_bytes_ += n;
  if (selected_bytes_ > limits_.max_result_bytes) {
    return Fail(absl::ResourceExhaustedError(absl::StrCat(
        "query selects series whose labels alone exceed ",
        limits_.max_result_bytes, " bytes (the query's result byte limit)")));
  }
  return status_.ok();
}

}  // namespace keel::core
