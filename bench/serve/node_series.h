// NodeSeries: generated series shaped like what a Prometheus scraping
// node exporters in Kubernetes remote-writes, for benchmarks that write the
// same data to keel serve and to a Prometheus.
//
// Series i belongs to target i / kSeriesPerTarget (one node exporter pod)
// and carries six labels, sorted by name as remote-write senders send them:
// __name__ (one of kSeriesPerTarget names, shared by every target), container,
// instance ("10.a.b.c:9100"), job, namespace and pod. Its value at scrape s
// is a counter, a gauge or a constant (a third each), made of the few
// significant digits real exporters report, so that chunks compress as they
// would in production.
//
//   NodeSeries series(1'000'000);
//   std::string raw = series.WriteRequest(0, 2000, /*scrape=*/3, t_ms);
//   std::string body = SnappyCompress(raw);  // a remote-write body
//
// Thread safety: const, so any number of threads may share one.
#ifndef KEEL_BENCH_SERVE_NODE_SERIES_H_
#define KEEL_BENCH_SERVE_NODE_SERIES_H_

#include <cstdint>
#include <string>

namespace keel::bench {

class NodeSeries {
 public:
  static constexpr uint64_t kSeriesPerTarget = 1000;

  explicit NodeSeries(uint64_t series) : series_(series) {}

  uint64_t size() const { return series_; }

  // A protobuf WriteRequest (uncompressed) holding series [first,
  // first + count), clipped to size(), each with its sample of `scrape` at
  // `t_ms`.
  std::string WriteRequest(uint64_t first, uint64_t count, uint64_t scrape,
                           int64_t t_ms) const;

  // Series i's value at scrape s.
  static double Value(uint64_t i, uint64_t scrape);

 private:
  uint64_t series_;
};

}  // namespace keel::bench

#endif  // KEEL_BENCH_SERVE_NODE_SERIES_H_
