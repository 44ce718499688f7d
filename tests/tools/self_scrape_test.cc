// keel serve's self-scrape: what /metrics would answer, stamped and labelled
// job="keel" and instance, lands in the store through the import path, with
// a family's own job label kept as exported_job; the thread scrapes until it
// is stopped.
#include "tools/server/self_scrape.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/series/series_store.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "tools/server/metrics_endpoint.h"
#include "tools/server/prom_api.h"

namespace keel::tools {
namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;

core::SeriesStoreOptions KeepAll() {
  core::SeriesStoreOptions options;
  options.retention_windows = 1'000'000;  // kNowMs is from 2023
  return options;
}

std::string Query(const PromApi& api, const std::string& query) {
  HttpRequest request;
  request.params = {{"query", query}, {"time", std::to_string(kNowMs / 1000)}};
  HttpResponse answer = api.Query(request);
  REQUIRE(answer.status == 200);
  return answer.body;
}

struct Fixture {
  Fixture() {
    prometheus::BuildCounter()
        .Name("demo_requests_total")
        .Help("requests")
        .Register(*registry)
        .Add({{"job", "worker"}})
        .Increment(3);
    prometheus::BuildHistogram()
        .Name("demo_seconds")
        .Help("latency")
        .Register(*registry)
        .Add({}, prometheus::Histogram::BucketBoundaries{0.1, 1})
        .Observe(0.5);
    metrics.Add(registry);
  }
  std::shared_ptr<prometheus::Registry> registry =
      std::make_shared<prometheus::Registry>();
  MetricsEndpoint metrics;
  core::SeriesStore store{KeepAll()};
  PromApi api{&store};
};

TEST_CASE("a scrape stores /metrics labelled job and instance") {
  Fixture f;
  SelfScrape scrape(&f.metrics, &f.api,
                    {.interval_ms = 1000, .instance = "127.0.0.1:9464"});
  HttpResponse answer = scrape.ScrapeOnce(kNowMs);
  INFO(answer.body);
  REQUIRE(answer.status == 204);
  CHECK(scrape.scrapes() == 1);
  CHECK(scrape.failed_scrapes() == 0);

  CHECK(Query(f.api, "demo_requests_total") ==
        R"({"status":"success","data":{"resultType":"vector","result":[)"
        R"({"metric":{"__name__":"demo_requests_total",)"
        R"("exported_job":"worker","instance":"127.0.0.1:9464",)"
        R"("job":"keel"},"value":[1700000000,"3"]}]}})");
  // The histogram's buckets, sum and count, at the scrape's time.
  CHECK(Query(f.api, R"(demo_seconds_bucket{le="1",job="keel"})")
            .find(R"("value":[1700000000,"1"])") != std::string::npos);
  CHECK(Query(f.api, R"(demo_seconds_bucket{le="0.1"})")
            .find(R"("value":[1700000000,"0"])") != std::string::npos);
  CHECK(Query(f.api, "demo_seconds_sum").find(R"("0.5")") != std::string::npos);
  CHECK(Query(f.api, "count(demo_seconds_bucket)").find(R"("3")") !=
        std::string::npos);  // 0.1, 1, +Inf
}

TEST_CASE("the thread scrapes every interval until stopped") {
  Fixture f;
  SelfScrape scrape(&f.metrics, &f.api, {.interval_ms = 20, .instance = "h:1"});
  scrape.Start();
  for (int i = 0; i < 500 && scrape.scrapes() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  scrape.Stop();
  const uint64_t done = scrape.scrapes();
  CHECK(done >= 3);
  CHECK(scrape.failed_scrapes() == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK(scrape.scrapes() == done);  // stopped means stopped
  scrape.Stop();                    // twice is fine
}

}  // namespace
}  // namespace keel::tools
