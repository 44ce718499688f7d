// PromApi: the Prometheus HTTP API over a core::SeriesStore, for plain
// series selectors (`name{label="v",l2=~"re"}`): no query language.
//
//   POST /api/v1/write            remote-write 1.0 in; 204, or 400 + reason
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
//   PromApi api(&store);
//   api.Register(&http_server);
//
// Thread safety: handlers run concurrently; the store is thread-safe. The
// store must outlive the server's handlers.
#ifndef KEEL_TOOLS_SERVER_PROM_API_H_
#define KEEL_TOOLS_SERVER_PROM_API_H_

#include <atomic>
#include <cstdint>

#include "keel/core/series_store.h"
#include "keel/tools/server/http_server.h"
#include "keel/tools/server/remote_write.h"

namespace keel::tools {

class PromApi {
 public:
  static constexpr int64_t kLookbackMs = 5 * 60 * 1000;
  static constexpr int64_t kMaxPointsPerSeries = 11000;  // as Prometheus

  explicit PromApi(core::SeriesStore* store, RemoteWriteLimits limits = {})
      : store_(store), limits_(limits) {}

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

 private:
  core::SeriesStore* store_;
  RemoteWriteLimits limits_;
  std::atomic<uint64_t> write_requests_{0};
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<uint64_t> samples_written_{0};
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_PROM_API_H_
