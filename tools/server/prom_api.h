// PromApi: the Prometheus HTTP API (2.42's) over a core::SeriesStore, with
// full PromQL (keel::query's parser and Engine):
//
//   POST /api/v1/write                remote-write 1.0 in; 204, 400, 503
//   POST /api/v1/import/prometheus    text samples with ms timestamps in
//   GET  /api/v1/query?query=E&time=T[&timeout=D]
//   GET  /api/v1/query_range?query=E&start=&end=&step=[&timeout=D]
//   GET  /api/v1/series?match[]=S&start=&end=
//   GET  /api/v1/labels[?match[]=S&start=&end=]
//   GET  /api/v1/label/<name>/values[?match[]=S&start=&end=]
//   GET  /api/v1/metadata[?metric=M&limit=N]
//   GET  /api/v1/query_exemplars      always an empty list: none are stored
//   GET  /api/v1/status/buildinfo
//
// Answers are the Prometheus API's JSON ({"status":"success","data":...} or
// {"status":"error","errorType":...,"error":...}), with its status codes
// and messages: bad_data 400 (a bad parameter; a syntax error names its
// line:column), execution 422, canceled 499, timeout 503. Results are
// written as result_json.h says. GET and form-encoded POST both work.
//
// Each query (and series, labels, label values) runs under a
// core::QueryContext built from the QueryLimits (the request's `timeout`
// may shorten the deadline): the engine polls the deadline and whether
// the client hung up, and bounds the samples it holds by max_samples. A
// query's answer is measured against max_result_bytes before any of it is
// sent: when query::ResultJsonBound says it fits (and it is over one
// piece), it is streamed (chunked, in pieces of about
// HttpBodyStream::kPieceBytes, never held whole); else
// (and with stats=all) it is built whole and charged as it is written, and
// refused (422) past the limit. So a refused query never held more than
// about its budgets, and an answer that starts is never cut by the limit.
//
// /api/v1/metadata answers what remote-write requests carried (Prometheus
// sends it when its remote_write has send_metadata, the default): the
// latest type, help and unit per metric family, at most kMaxMetadata
// families (later ones are dropped) and help texts cut at kMaxHelpBytes.
//
// An import (POST /api/v1/import/prometheus, VictoriaMetrics' endpoint of
// the name) is core/series/series_text_format.h's format, gzip when the request
// says Content-Encoding: gzip, at most WriteLimits::import_max_bytes
// (received and decompressed). It is backfill: no --max-future check and
// no per-request new-series limit, but the store's max_series holds. The
// whole body is parsed and checked first (a bad line is 400 "line N: ...",
// a sample older than the store's OldestAppendable 400 naming its line, a
// series past max_series 400), all before any sample is appended, so a
// rejected request stores nothing. Each series' samples are then appended
// in time order; the answer is 204, or 400 counting samples the store
// refused against what it already held (out of order, another value at
// the same time).
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
// else 204. Counts per reason: RejectedSamples(reason).
//
// With a memory budget (set_memory_admission, keel serve's --memory-limit),
// a write that does not fit the room left under the limit is refused whole
// with 429 and Retry-After before it is decompressed, and queries, series
// and label requests get the room left as their budgets (422 past it): see
// memory_admission.h.
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
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/query/engine.h"
#include "core/series/query_context.h"
#include "core/series/series_store.h"
#include "tools/server/forward/forwarder.h"
#include "tools/server/http_server.h"
#include "tools/server/memory_admission.h"
#include "tools/server/remote_write.h"

namespace keel::tools {

struct WriteLimits {
  RemoteWriteLimits body;                  // one request
  int64_t max_future_ms = 10 * 60 * 1000;  // ahead of the server's clock
  uint64_t max_new_series_per_request = 50'000;
  uint64_t decoded_budget_bytes = 256u << 20;  // all writes in flight
  int64_t budget_wait_ms = 1000;  // for room in the budget, then 503
  // An import's body, as received and once decompressed.
  uint64_t import_max_bytes = 32u << 20;
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
  static constexpr int64_t kMaxPointsPerSeries = 11000;  // as Prometheus
  static constexpr size_t kMaxMetadata = 20'000;
  static constexpr size_t kMaxHelpBytes = 4096;

  explicit PromApi(core::SeriesStore* store, WriteLimits write_limits = {},
                   core::QueryLimits query_limits = {})
      : store_(store),
        engine_(*store),
        write_limits_(write_limits),
        decoded_budget_(write_limits.decoded_budget_bytes),
        query_limits_(query_limits) {}

  // REQUIRES: before server->Start.
  void Register(HttpServer* server);
  // Applies a memory budget to writes and queries (null: none).
  // REQUIRES: before Register; `admission` outlives the server's handlers.
  void set_memory_admission(MemoryAdmission* admission) { memory_ = admission; }
  // Forwards the samples writes and imports store (null: none; see
  // forward/forwarder.h): a full queue answers 429 with Retry-After before
  // anything is stored, and a write answers only once its stored samples
  // are in the queue. REQUIRES: before Register; it outlives the handlers.
  void set_forwarder(Forwarder* forwarder) { forwarder_ = forwarder; }

  HttpResponse Write(const HttpRequest& request);
  HttpResponse Import(const HttpRequest& request);
  HttpResponse Series(const HttpRequest& request) const;
  HttpResponse Query(const HttpRequest& request) const;
  HttpResponse QueryRange(const HttpRequest& request) const;
  HttpResponse LabelNames(const HttpRequest& request) const;
  // GET /api/v1/label/<name>/values: the name is read from request.path.
  HttpResponse LabelValues(const HttpRequest& request) const;
  HttpResponse Metadata(const HttpRequest& request) const;

  // Remote-write figures since start, for /metrics.
  uint64_t write_requests() const { return write_requests_.load(); }
  uint64_t write_failures() const { return write_failures_.load(); }
  uint64_t samples_written() const { return samples_written_.load(); }
  uint64_t RejectedSamples(WriteRejection reason) const {
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
  // The answer to a failed query (bad_data, execution, timeout, canceled),
  // counted; `ctx` is the query's, which tells whether the memory budget
  // stopped it.
  HttpResponse QueryFailed(const core::QueryContext& ctx,
                           const absl::Status& status) const;
  // The answer to a query that gave `value`: streamed when its JSON is
  // larger than a piece, surely fits the context's max_result_bytes, and no
  // stats are asked (stats=all
  // counts the answer's bytes, so it is written first); else built whole,
  // charged to the context as it is written, and refused past the limit.
  HttpResponse Answer(const HttpRequest& request, core::QueryContext& ctx,
                      query::Value value) const;
  // The request's limits: the configured ones, the deadline shortened by a
  // `timeout` parameter, the budgets lowered to the memory budget's room.
  absl::StatusOr<core::QueryLimits> LimitsOf(const HttpRequest& request) const;
  // What series, labels and label values select (prom_api_series.cc).
  struct Selection;
  // Reads a Selection from the request's start, end, match[] and timeout;
  // else the answer to give. A bad match[] is named as a parameter when
  // `name_match_param`, as Prometheus' series endpoint does.
  std::optional<HttpResponse> ReadSelection(const HttpRequest& request,
                                            bool name_match_param,
                                            Selection* out) const;
  // The distinct label sets, sorted, of series matching any of the
  // selectors (every series when there is none) with a sample in
  // [start, end]. Errors: the context's.
  absl::StatusOr<std::vector<core::Labels>> SelectLabelSets(
      const std::vector<std::vector<core::Matcher>>& selectors, int64_t start,
      int64_t end, core::QueryContext& ctx) const;
  // Keeps what a remote-write request says of its metric families.
  void KeepMetadata(std::string_view decoded);

  struct MetricMetadata {
    std::string type, help, unit;
  };

  struct WriteTally;
  // Queues what a write stored for the forwarder: nothing when there is
  // none or it worked, else the answer (503: the sender should retry).
  std::optional<HttpResponse> Forward(const ForwardRecord& record);
  // Stores one series' samples that pass the time checks.
  void WriteSeries(const prompb::TimeSeries& series, int64_t newest_allowed,
                   WriteTally& tally);

  core::SeriesStore* store_;
  const query::Engine engine_;
  const WriteLimits write_limits_;
  DecodedBudget decoded_budget_;
  core::QueryLimits query_limits_;
  MemoryAdmission* memory_ = nullptr;
  Forwarder* forwarder_ = nullptr;
  std::atomic<uint64_t> write_requests_{0};
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<uint64_t> samples_written_{0};
  std::atomic<uint64_t> rejected_[kWriteRejections] = {};
  std::atomic<uint64_t> writes_throttled_{0};
  mutable std::atomic<uint64_t> queries_timed_out_{0};
  mutable std::atomic<uint64_t> queries_canceled_{0};
  mutable std::atomic<uint64_t> queries_over_limits_{0};
  mutable std::mutex metadata_mu_;
  absl::flat_hash_map<std::string, MetricMetadata> metadata_;  // metadata_mu_
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_PROM_API_H_
