// keel serve's own metrics on /metrics: the standard process_* families,
// keel_build_info, and the requests and latencies per handler, which count
// every answer (refusals too) under a bounded handler label.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "keel_build_info.h"
#include "tests/testing/serve_harness.h"
#include "tools/server/http_metrics.h"
#include "tools/server/process_collector.h"

namespace keel::tools {
namespace {

using testing::Http;
using testing::SharedPort;

// The value of the exposition line starting with `series` (name and
// labels, as the serializer writes them), or -1 when there is none.
double Value(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

std::string Metrics(int port) {
  testing::HttpReply r = Http(port, "GET", "/metrics");
  REQUIRE(r.status == 200);
  return r.body;
}

TEST_CASE("/metrics has the standard process families") {
  std::string m = Metrics(SharedPort());
  // A process this young may not have used a clock tick of CPU yet.
  CHECK(Value(m, "process_cpu_seconds_total") >= 0);
  for (const char* name :
       {"process_resident_memory_bytes", "process_virtual_memory_bytes",
        "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
    INFO(name);
    CHECK(Value(m, name) > 0);
  }
  CHECK_THAT(m, Catch::Contains("# TYPE process_cpu_seconds_total counter\n"));
  CHECK_THAT(m, Catch::Contains("# TYPE process_open_fds gauge\n"));
  CHECK(Value(m, "process_resident_memory_bytes") <
        Value(m, "process_virtual_memory_bytes"));
  CHECK(Value(m, "process_open_fds") <= Value(m, "process_max_fds"));
  // This process started after 2023 and before the scrape.
  CHECK(Value(m, "process_start_time_seconds") > 1.7e9);
  CHECK(Value(m, "process_start_time_seconds") <
        static_cast<double>(time(nullptr)) + 1);
  // The keel_process_* names they replace are gone.
  CHECK_THAT(m, !Catch::Contains("keel_process_"));
}

TEST_CASE("/proc/PID/stat is parsed after the command name") {
  // A command name with spaces and parentheses, as a process may set.
  std::string stat =
      "1234 (keel (x) y) S 1 1234 1234 0 -1 4194560 500 0 0 0 "
      "250 50 0 0 20 0 9 0 987654 123456789 4321 18446744073709551615";
  auto parsed = ParseProcStat(stat);
  REQUIRE(parsed.has_value());
  CHECK(parsed->cpu_ticks == 300);
  CHECK(parsed->start_ticks == 987654);
  CHECK(parsed->virtual_bytes == 123456789);
  CHECK(parsed->resident_pages == 4321);
  CHECK_FALSE(ParseProcStat("1234 (keel) S 1 2 3").has_value());
  CHECK_FALSE(ParseProcStat("no parenthesis").has_value());
}

TEST_CASE("keel_build_info names the version and revision") {
  std::string m = Metrics(SharedPort());
  CHECK(Value(m, std::string("keel_build_info{revision=\"") + kRevision +
                     "\",version=\"" + kVersion + "\"}") == 1);
  CHECK(std::regex_search(kVersion, std::regex("^[0-9]+\\.[0-9]+\\.[0-9]+$")));
  CHECK(std::regex_search(kRevision, std::regex("^([0-9a-f]{4,}|unknown)$")));
}

TEST_CASE("requests are counted by handler and code, refusals included") {
  int port = SharedPort();
  const std::string lookup_ok =
      "keel_http_requests_total{code=\"200\",handler=\"/v1/lookup\"}";
  const std::string lookup_bad =
      "keel_http_requests_total{code=\"400\",handler=\"/v1/lookup\"}";
  const std::string unknown =
      "keel_http_requests_total{code=\"404\",handler=\"other\"}";
  const std::string wrong_method =
      "keel_http_requests_total{code=\"405\",handler=\"/v1/lookup\"}";
  const std::string label_values =
      "keel_http_requests_total{code=\"200\",handler=\"/api/v1/label/{}/"
      "values\"}";
  const std::string lookup_count =
      "keel_http_request_duration_seconds_count{handler=\"/v1/lookup\"}";
  std::string before = Metrics(port);
  auto count = [&](const std::string& m, const std::string& s) {
    return std::max(0.0, Value(m, s));
  };

  REQUIRE(Http(port, "GET", "/v1/lookup?ip=1.0.0.1").status == 200);
  REQUIRE(Http(port, "GET", "/v1/lookup?ip=1.0.0.1").status == 200);
  REQUIRE(Http(port, "GET", "/v1/lookup?ip=nonsense").status == 400);
  REQUIRE(Http(port, "DELETE", "/v1/lookup").status == 405);
  // Unknown paths share one label, whatever they are.
  REQUIRE(Http(port, "GET", "/no/such/path/1").status == 404);
  REQUIRE(Http(port, "GET", "/no/such/path/2").status == 404);
  REQUIRE(Http(port, "GET", "/api/v1/label/job/values").status == 200);

  std::string after = Metrics(port);
  CHECK(count(after, lookup_ok) - count(before, lookup_ok) == 2);
  CHECK(count(after, lookup_bad) - count(before, lookup_bad) == 1);
  CHECK(count(after, wrong_method) - count(before, wrong_method) == 1);
  CHECK(count(after, unknown) - count(before, unknown) == 2);
  CHECK(count(after, label_values) - count(before, label_values) == 1);
  // The histogram counts every answer of the handler, whatever its code.
  CHECK(count(after, lookup_count) - count(before, lookup_count) == 4);
  CHECK_THAT(after, !Catch::Contains("/no/such/path"));
  CHECK_THAT(after, !Catch::Contains("handler=\"/api/v1/label/job/values\""));
  CHECK_THAT(after, Catch::Contains(
                        "# TYPE keel_http_request_duration_seconds histogram"));
  CHECK(Value(after,
              "keel_http_request_duration_seconds_bucket{handler=\"/v1/"
              "lookup\",le=\"+Inf\"}") == count(after, lookup_count));
}

TEST_CASE("durations land in the first bucket at or above them") {
  HttpMetrics metrics;
  HttpMetrics::Handler* h = metrics.ForHandler("/x");
  CHECK(metrics.ForHandler("/x") == h);
  HttpMetrics::Record(h, 200, 0.001);  // on a bound: counted in it (le)
  HttpMetrics::Record(h, 200, 0.0011);
  HttpMetrics::Record(h, 503, 500);  // above every bound
  auto families = metrics.Collect();
  REQUIRE(families.size() == 2);
  const auto& histogram = families[1].metric;
  // "other" first (made by the constructor), then "/x".
  REQUIRE(histogram.size() == 2);
  const auto& buckets = histogram[1].histogram.bucket;
  REQUIRE(buckets.size() == HttpMetrics::kBuckets.size() + 1);
  CHECK(buckets[0].cumulative_count == 0);                   // le 0.0005
  CHECK(buckets[1].cumulative_count == 1);                   // le 0.001
  CHECK(buckets[2].cumulative_count == 2);                   // le 0.0025
  CHECK(buckets[buckets.size() - 2].cumulative_count == 2);  // le 120
  CHECK(buckets.back().cumulative_count == 3);               // +Inf
  CHECK(histogram[1].histogram.sample_count == 3);
  CHECK(histogram[1].histogram.sample_sum == Approx(500.0021));
  const auto& requests = families[0].metric;
  REQUIRE(requests.size() == 2);  // /x 200 and /x 503; "other" has none
  CHECK(requests[0].counter.value == 2);
  CHECK(requests[1].counter.value == 1);
}

}  // namespace
}  // namespace keel::tools
