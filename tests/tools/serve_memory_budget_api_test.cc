// The memory budget in keel serve's API (issue 17), in-process over a
// resident figure the test sets: writes that do not fit the room left are
// refused whole with 429 and Retry-After, queries past the room get 422
// "execution", a query stopped by its configured limit is answered as
// before, and the gauges say what the budget sees.
#include <snappy.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>

#include "alloc/memory_budget.h"
#include "core/series/series_store.h"
#include "remote_write.pb.h"
#include "tools/server/http_server.h"
#include "tools/server/memory_admission.h"
#include "tools/server/memory_budget_collector.h"
#include "tools/server/prom_api.h"

namespace keel::tools {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kLimit = 100 * kMiB;
constexpr int64_t kT = 1700000000000;

core::SeriesStoreOptions KeepAll() {
  core::SeriesStoreOptions options;
  options.retention_windows = 1'000'000;  // the samples are from 2023
  return options;
}

// A remote-write body of `series` series x{i="0"}, ..., one sample each.
HttpRequest WriteRequest(int series) {
  prompb::WriteRequest request;
  for (int i = 0; i < series; ++i) {
    auto* s = request.add_timeseries();
    for (auto [name, value] :
         {std::pair<std::string, std::string>{"__name__", "x"},
          {"i", std::to_string(i)}}) {
      auto* label = s->add_labels();
      label->set_name(name);
      label->set_value(value);
    }
    auto* sample = s->add_samples();
    sample->set_timestamp(kT);
    sample->set_value(i);
  }
  std::string raw = request.SerializeAsString();
  HttpRequest r;
  snappy::Compress(raw.data(), raw.size(), &r.body);
  return r;
}

HttpRequest Query(std::string query) {
  HttpRequest r;
  r.params = {{"query", std::move(query)}, {"time", "1700000000"}};
  return r;
}

// A PromApi over a store, with a budget whose resident bytes are `resident`.
struct Fixture {
  explicit Fixture(core::QueryLimits limits = {})
      : budget(Options(&resident)), api(&store, {}, limits) {
    api.set_memory_admission(&admission);
  }
  static alloc::MemoryBudgetOptions Options(std::atomic<uint64_t>* resident) {
    alloc::MemoryBudgetOptions o;
    o.limit_bytes = kLimit;
    o.max_staleness = std::chrono::milliseconds(0);
    o.purge_above_soft_mark = false;
    o.read_resident = [resident] { return resident->load(); };
    return o;
  }

  std::atomic<uint64_t> resident{10 * kMiB};
  alloc::MemoryBudget budget;
  MemoryAdmission admission{&budget};
  core::SeriesStore store{KeepAll()};
  PromApi api;
};

TEST_CASE("a write that does not fit is refused whole with 429") {
  Fixture f;
  REQUIRE(f.api.Write(WriteRequest(10)).status == 204);
  REQUIRE(f.store.Stats().series == 10);

  f.resident = kLimit;
  HttpResponse r = f.api.Write(WriteRequest(20));
  REQUIRE(r.status == 429);
  CHECK(r.headers == "Retry-After: 5\r\n");
  CHECK_THAT(r.body, Catch::Contains("memory limit") &&
                         Catch::Contains(std::to_string(kLimit)) &&
                         Catch::Contains("resident " + std::to_string(kLimit)));
  CHECK(f.store.Stats().series == 10);  // nothing of it stored
  CHECK(f.admission.rejected_writes() == 1);
  CHECK(f.api.write_failures() == 1);

  // Room for a small request, not for a large one.
  f.resident = kLimit - 2048;
  CHECK(f.api.Write(WriteRequest(2000)).status == 429);
  CHECK(f.store.Stats().series == 10);
  CHECK(f.api.Write(WriteRequest(20)).status == 204);
  CHECK(f.store.Stats().series == 20);
  CHECK(f.admission.rejected_writes() == 2);
}

TEST_CASE("an import that does not fit is refused with 429") {
  Fixture f;
  f.resident = kLimit + kMiB;
  HttpRequest import;
  import.body = "x{i=\"1\"} 1 1700000000000\n";
  HttpResponse r = f.api.Import(import);
  REQUIRE(r.status == 429);
  CHECK(r.headers == "Retry-After: 5\r\n");
  CHECK_THAT(r.body, Catch::Contains("import"));
  CHECK(f.store.Stats().series == 0);
  f.resident = 10 * kMiB;
  CHECK(f.api.Import(import).status == 204);
}

TEST_CASE("queries get the room left as their budget: 422 past it") {
  Fixture f;
  REQUIRE(f.api.Write(WriteRequest(100)).status == 204);
  REQUIRE(f.api.Query(Query("x")).status == 200);

  f.resident = kLimit - 4096;  // 1365 bytes a budget: not 100 series
  HttpResponse r = f.api.Query(Query("x"));
  REQUIRE(r.status == 422);
  CHECK_THAT(r.body, Catch::Contains(R"("errorType":"execution")") &&
                         Catch::Contains("memory limit"));
  CHECK(f.admission.rejected_queries() == 1);
  CHECK(f.api.queries_over_limits() == 0);  // not the configured limits

  HttpRequest series;
  series.params = {{"match[]", "x"}};
  CHECK(f.api.Series(series).status == 422);
  CHECK(f.admission.rejected_queries() == 2);
  // A query that holds next to nothing still fits.
  CHECK(f.api.Query(Query("vector(1)")).status == 200);
  f.resident = 10 * kMiB;
  CHECK(f.api.Query(Query("x")).status == 200);
}

TEST_CASE("a query stopped by its configured limit is not the budget's") {
  core::QueryLimits limits;
  limits.max_samples = 5;
  Fixture f(limits);
  REQUIRE(f.api.Write(WriteRequest(100)).status == 204);
  HttpResponse r = f.api.Query(Query("x"));
  REQUIRE(r.status == 422);
  CHECK_THAT(r.body, Catch::Contains("too many samples"));
  CHECK(f.admission.rejected_queries() == 0);
  CHECK(f.api.queries_over_limits() == 1);
}

TEST_CASE("the gauges say what the budget sees") {
  Fixture f;
  auto values = [&f] {
    std::map<std::string, double> out;
    for (const auto& family : MemoryBudgetCollector(&f.admission).Collect()) {
      for (const auto& metric : family.metric) {
        std::string name = family.name;
        for (const auto& label : metric.label) {
          name += "{" + label.name + "=" + label.value + "}";
        }
        out[name] = family.type == prometheus::MetricType::Counter
                        ? metric.counter.value
                        : metric.gauge.value;
      }
    }
    return out;
  };
  f.resident = 95 * kMiB;
  f.budget.Tick();
  auto v = values();
  CHECK(v["keel_memory_limit_bytes"] == kLimit);
  CHECK(v["keel_memory_soft_limit_bytes"] == 90 * kMiB);
  CHECK(v["keel_memory_resident_bytes"] == 95 * kMiB);
  CHECK(v["keel_memory_pressure"] == 1);
  f.resident = kLimit;
  f.api.Write(WriteRequest(1));
  f.api.Query(Query("x"));
  v = values();
  CHECK(v["keel_memory_pressure"] == 2);
  CHECK(v["keel_memory_rejected_requests_total{kind=write}"] == 1);
  CHECK(v["keel_memory_rejected_requests_total{kind=query}"] == 1);
  f.resident = 10 * kMiB;
  f.budget.Tick();
  CHECK(values()["keel_memory_pressure"] == 0);
}

}  // namespace
}  // namespace keel::tools
