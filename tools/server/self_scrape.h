// SelfScrape: keel serve stores its own /metrics, as a Prometheus that
// scrapes itself would. Every interval it collects what GET /metrics would
// answer, stamps each sample with the time of collection, labels it
// job="keel" and instance="HOST:PORT", and imports the text through
// PromApi::Import, the path of POST /api/v1/import/prometheus. So keel's own
// samples are queryable like any others, count against the same limits
// (max-series, the memory budget, the forwarding queue's room) and are
// forwarded to every remote-write destination.
//
// Use it instead of pointing a Prometheus at keel only to get keel's
// metrics into the cluster keel forwards to.
//
//   SelfScrape scrape(&metrics, &prom_api,
//                     {.interval_ms = 15000, .instance = "127.0.0.1:9464"});
//   scrape.Start();
//   ...
//   scrape.Stop();  // before the metrics or the API go
//
// A label a family already has named job or instance is kept as
// exported_job or exported_instance (Prometheus' honor_labels: false). A
// refused import (the memory budget at its limit, a full forwarding queue)
// skips that scrape, as a Prometheus misses one, and is logged at most once a
// minute.
//
// Thread safety: Start and Stop from one thread; the scrapes run on a thread
// of their own. ScrapeOnce may run on any thread.
#ifndef KEEL_TOOLS_SERVER_SELF_SCRAPE_H_
#define KEEL_TOOLS_SERVER_SELF_SCRAPE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "tools/server/http_server.h"
#include "tools/server/metrics_endpoint.h"
#include "tools/server/prom_api.h"

namespace keel::tools {

struct SelfScrapeOptions {
  int64_t interval_ms = 15000;
  std::string instance;  // the instance label: the server's HOST:PORT
};

class SelfScrape {
 public:
  // REQUIRES: `metrics` and `api` outlive this object (or its Stop).
  SelfScrape(const MetricsEndpoint* metrics, PromApi* api,
             SelfScrapeOptions options);
  ~SelfScrape();
  SelfScrape(const SelfScrape&) = delete;
  SelfScrape& operator=(const SelfScrape&) = delete;

  // Scrapes every interval from now on, the first one interval from now.
  void Start();
  // Stops the scrapes; returns once none runs. Safe to call twice.
  void Stop();

  // One scrape stamped `now_ms`: the import's answer (204 when every sample
  // was stored).
  HttpResponse ScrapeOnce(int64_t now_ms);

  // Scrapes whose import was answered 204, and the others.
  uint64_t scrapes() const { return scrapes_.load(); }
  uint64_t failed_scrapes() const { return failed_scrapes_.load(); }

 private:
  void Run();

  const MetricsEndpoint* const metrics_;
  PromApi* const api_;
  const SelfScrapeOptions options_;
  std::atomic<uint64_t> scrapes_{0};
  std::atomic<uint64_t> failed_scrapes_{0};
  int64_t last_failure_log_ms_ = 0;  // the scrape thread's

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_SELF_SCRAPE_H_
