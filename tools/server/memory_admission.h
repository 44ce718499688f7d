// MemoryAdmission: how keel serve's API applies an alloc::MemoryBudget
// (--memory-limit) to its requests. PromApi consults it when one is set
// (PromApi::set_memory_admission); lookups never do.
//
// Writes (remote write, import) are refused whole, before anything is
// decompressed or stored, when their bytes do not fit the room left under
// the limit: 429 with Retry-After and a body naming the limit and the
// resident bytes. Whole, so that a request is either stored and answered
// 2xx or refused and stored nowhere: nothing is ever half-acknowledged, and
// what was acknowledged is never dropped to make room (only retention and
// purging free memory). The request's bytes stand for what it adds while it
// is handled: its decoded body is about that large, and a write of new
// series stores about as much again. Prometheus retries a 429 only with
// `queue_config: retry_on_http_429: true` (since 2.26; without it the batch
// is dropped as a client error); it then waits Retry-After.
//
// Queries get the room left as their budget: ClampQuery lowers a query's
// QueryLimits so that what its context charges (the label bytes it copies,
// the bytes of its answer, the samples it holds at 16 bytes each; a third
// of the room each) cannot take resident past the limit. A query that hits
// a clamped budget gets 422 with Prometheus' error JSON (errorType
// "execution") naming the memory limit (RefuseQuery); one that hits the
// configured limit is answered as before.
//
//   alloc::MemoryBudget budget(options);
//   MemoryAdmission admission(&budget);
//   prom_api.set_memory_admission(&admission);
//
// Thread safety: every method may be called from any thread.
// REQUIRES: the budget outlives the admission.
#ifndef KEEL_TOOLS_SERVER_MEMORY_ADMISSION_H_
#define KEEL_TOOLS_SERVER_MEMORY_ADMISSION_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "alloc/memory_budget.h"
#include "core/series/query_context.h"
#include "tools/server/http_server.h"

namespace keel::tools {

class MemoryAdmission {
 public:
  // What a sample held by a query costs (its time and value).
  static constexpr uint64_t kBytesPerSample = 16;
  // A memory budget frees as retention, purging and defragmentation get to
  // it, not at once: clients are asked to come back after this long.
  static constexpr int kRetryAfterSeconds = 5;

  explicit MemoryAdmission(alloc::MemoryBudget* budget) : budget_(budget) {}

  // A write of `bytes` (decoded) that does not fit the room left: the 429
  // answer, counted. std::nullopt: go on. `what` names the request kind in
  // the answer ("remote-write request", "import").
  std::optional<HttpResponse> RefuseWrite(uint64_t bytes,
                                          std::string_view what);
  // `limits` lowered to the room left (see above).
  core::QueryLimits ClampQuery(const core::QueryLimits& limits) const;
  // For a query whose context failed: the 422 answer, counted, when the
  // budget that stopped it is one ClampQuery lowered below `configured`;
  // else std::nullopt (the failure is the caller's to answer).
  std::optional<HttpResponse> RefuseQuery(const core::QueryContext& ctx,
                                          const core::QueryLimits& configured);

  const alloc::MemoryBudget& budget() const { return *budget_; }
  uint64_t rejected_writes() const {
    return rejected_writes_.load(std::memory_order_relaxed);
  }
  uint64_t rejected_queries() const {
    return rejected_queries_.load(std::memory_order_relaxed);
  }

 private:
  alloc::MemoryBudget* budget_;
  std::atomic<uint64_t> rejected_writes_{0};
  std::atomic<uint64_t> rejected_queries_{0};
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_MEMORY_ADMISSION_H_
