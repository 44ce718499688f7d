// PromApi: the Prometheus HTTP API over a core::SeriesStore, for plain
// series selectors (`name{label="v",l2=~"re"}`): no query language.
//
//   POST /api/v1/write            remote-write 1.0 in; 204, 400 + reason, 503
//   GET  /api/v1/series?match[]=S&start=&end=
//   GET  /api/v1/query?query=S&time=T
//   GET  /api/v1/query_range?query=S&start=&end=&step=
//
// Answers are the Prometheus API's JSON ({"status":"success","data":...} or
// {"status":"error","errorType":"bad_data","error":...} with 400). An instant
// query returns each series' latest sample at or before T within a 5-minute
// lookback, skipping Prometheus' stale markers, as Prometheus does; a range
// query does the same at every step. Anything but a plain selector answers
// 400 "unsupported expression". GET and form-encoded POST both work.
//
// Each query (instant, range or series) runs under a core::QueryContext
// built from the QueryLimits: a deadline checked while label values are
// matched, postings combined and samples decoded, and a client that hung
// up (polled about every 10 ms) cancels it. As Prometheus answers: a timeout
// is 503 errorType "timeout", a cancelled query 499 "canceled", a query
// past max_samples (points returned) or max_result_bytes (JSON produced, or
// labels copied from the selected series) 422 "execution". The answer is
// built once, counted as it grows, so a refused query never held more than
// about the budget. Selectors are bounded as core::SelectorLimits says (400).
//
// A remote-write request is read under the WriteLimits. Its decoded size
// (from the snappy header, before anything is decompressed) must fit the
// decoded budget shared by all writes in flight; a request that does not
// fit waits up to budget_wait_ms for room, then answers 503 with
// Retry-After: 1. 503, not 429 or 400, because Prometheus' remote-write
// client retries 5xx (and 429 only when told to) but drops a batch answered
// 4xx: the samples are good, the server only lacks room now. A request
// larger than the whole budget can never fit: 400. The body is then parsed
// series by series (see ForEachRemoteWriteSeries), first to check all of it
// (a malformed body stores nothing: 400), then to store it. A sample more
// than max_future_ms ahead of the server's clock, or before the store's
// OldestAppendable, is rejected before its series is looked up, so a series
// none of whose samples would be stored is never created; a new series
// past max_new_series_per_request (in this request) or past the store's
// max_series is not created and its samples are rejected. The other samples
// are stored, and the answer is 400 naming each reason's count and the
// first rejection (Prometheus answers out-of-bounds samples the same way),
// else 204. Counts per reason: rejected_samples(reason).
//
//   PromApi api(&store);
//   api.Register(&http_server);
//
// Thread safety: handlers run concurrently; the store is thread-safe. The
// store must outlive the server's handlers.
#ifndef KEEL_TOOLS_SERVER_PROM_API_H_
#define KEEL_TOOLS_SERVER_PROM_API_H_

#include <atomic>
#include <cstdint>
#include <string_view>

#include "keel/core/query_context.h"
#include "keel/core/series_store.h"
#include "keel/tools/server/http_server.h"
#include "keel/tools/server/remote_write.h"

namespace keel::tools {

struct WriteLimits {
  RemoteWriteLimits body;                  // one request
  int64_t max_future_ms = 10 * 60 * 1000;  // ahead of the server's clock
  uint64_t max_new_series_per_request = 50'000;
  uint64_t decoded_budget_bytes = 256u << 20;  // all writes in flight
  int64_t budget_wait_ms = 1000;  // for room in the budget, then 503
};

// Why a remote-write sample was not stored: the `reason` label of
// keel_remote_write_rejected_samples_total.
enum class WriteRejection {
  kTooFarInFuture,  // past max_future_ms ahead of the clock
  kTooOld,          // before the store's OldestAppendable
  kOutOfOrder,      // older than its series' last sample
  kConflict,        // its series' last timestamp, another value
  kSeriesLimit,     // its new series would pass the store's max_series
  kNewSeriesLimit,  // its new series would pass max_new_series_per_request
  kBadLabels,       // its series' labels break the rules
  kSeriesDropped,   // retention dropped its series while it was written
};
inline constexpr int kWriteRejections = 8;
std::string_view WriteRejectionName(WriteRejection reason);

class PromApi {
 public:
  static constexpr int64_t kLookbackMs = 5 * 60 * 1000;
  static constexpr int64_t kMaxPointsPerSeries = 11000;  // as Prometheus

  explicit PromApi(core::SeriesStore* store, WriteLimits write_limits = {},
                   core::QueryLimits query_limits = {})
      : store_(store),
        write_limits_(write_limits),
        decoded_budget_(write_limits.decoded_budget_bytes),
        query_limits_(query_limits) {}

  // REQUIRES: before server->Start.
  void Register(HttpServer* server);

  HttpResponse Write(const HttpRequest& request);
  HttpResponse Series(const HttpRequest& request) const;
  HttpResponse Query(const HttpRequest& request) const;
  HttpResponse QueryRange(const HttpRequest& request) const;

  // Remote-write figures since start, for /metrics.
  uint64_t write_requests() const { return write_requests_.load(); }
  uint64_t write_failures() const { return write_failures_.load(); }
  uint64_t samples_written() const { return samples_written_.load(); }
  uint64_t rejected_samples(WriteRejection reason) const {
    return rejected_[static_cast<int>(reason)].load();
  }
  // Writes answered 503 for want of room in the decoded budget.
  uint64_t writes_throttled() const { return writes_throttled_.load(); }
  // Anything else in the process that holds decoded writes may share it
  // (tests hold it to stand for writes in flight).
  DecodedBudget& decoded_budget() { return decoded_budget_; }
  const DecodedBudget& decoded_budget() const { return decoded_budget_; }
  // Queries stopped since start, for /metrics: at the deadline, because the
  // client went away, over a budget (422).
  uint64_t queries_timed_out() const { return queries_timed_out_.load(); }
  uint64_t queries_canceled() const { return queries_canceled_.load(); }
  uint64_t queries_over_limits() const { return queries_over_limits_.load(); }

 private:
  // The answer to a query its context stopped, counted.
  HttpResponse QueryFailed(const absl::Status& status) const;

  struct WriteTally;
  // Stores one series' samples that pass the time checks.
  void WriteSeries(const prompb::TimeSeries& series, int64_t newest_allowed,
                   WriteTally& tally);

  core::SeriesStore* store_;
  const WriteLimits write_limits_;
  DecodedBudget decoded_budget_;
  core::QueryLimits query_limits_;
  std::atomic<uint64_t> write_requests_{0};
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<uint64_t> samples_written_{0};
  std::atomic<uint64_t> rejected_[kWriteRejections] = {};
  std::atomic<uint64_t> writes_throttled_{0};
  mutable std::atomic<uint64_t> queries_timed_out_{0};
  mutable std::atomic<uint64_t> queries_canceled_{0};
  mutable std::atomic<uint64_t> queries_over_limits_{0};
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_PROM_API_H_
