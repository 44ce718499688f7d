// stats=all on /api/v1/query and query_range: what the query's context
// counted (peak samples held, answer and label bytes), inside the data
// object where Prometheus puts its own stats; nothing without the parameter.
#include <catch2/catch.hpp>
#include <string>

#include "core/series/series_store.h"
#include "tools/server/http_server.h"
#include "tools/server/prom_api.h"

namespace keel::tools {
namespace {

// Three series of 1700000000 + 0, 15, ..., 45 s.
constexpr char kData[] =
    "x{i=\"1\"} 1 1700000000000\nx{i=\"1\"} 2 1700000015000\n"
    "x{i=\"1\"} 3 1700000030000\nx{i=\"1\"} 4 1700000045000\n"
    "x{i=\"2\"} 1 1700000000000\nx{i=\"2\"} 2 1700000015000\n"
    "x{i=\"2\"} 3 1700000030000\nx{i=\"2\"} 4 1700000045000\n"
    "x{i=\"3\"} 1 1700000000000\nx{i=\"3\"} 2 1700000015000\n"
    "x{i=\"3\"} 3 1700000030000\nx{i=\"3\"} 4 1700000045000\n";

core::SeriesStoreOptions KeepAll() {
  core::SeriesStoreOptions options;
  options.retention_windows = 1'000'000;  // the data is from 2023
  return options;
}

HttpRequest Request(
    std::initializer_list<std::pair<std::string, std::string>> params) {
  HttpRequest request;
  request.params.assign(params.begin(), params.end());
  return request;
}

TEST_CASE("stats=all reports the context's counts inside data") {
  core::SeriesStore store(KeepAll());
  PromApi api(&store);
  HttpRequest import;
  import.body = kData;
  REQUIRE(api.Import(import).status == 204);

  // Windows of 4 samples, 3 counts, a sum of 1.
  HttpResponse r = api.Query(Request({{"query", "sum(count_over_time(x[1m]))"},
                                      {"time", "1700000045"},
                                      {"stats", "all"}}));
  REQUIRE(r.status == 200);
  const std::string data = R"({"resultType":"vector","result":[{"metric":{},)"
                           R"("value":[1700000045,"12"]}])";
  const std::string prefix = R"({"status":"success","data":)" + data +
                             R"(,"stats":{"samples":{"peakSamples":)";
  REQUIRE(r.body.starts_with(prefix));
  // At least one series' window of 4 samples; at most all three windows
  // and the 3 counts beside them.
  const int peak = std::stoi(r.body.substr(prefix.size()));
  CHECK(peak >= 4);
  CHECK(peak <= 15);
  CHECK(r.body.find(R"(},"keel":{"resultBytes":)" +
                    std::to_string(data.size() + 1) +
                    R"(,"selectedLabelBytes":)") != std::string::npos);
  CHECK(r.body.ends_with("}}}}"));

  // Without it, Prometheus' answer exactly.
  r = api.Query(Request(
      {{"query", "sum(count_over_time(x[1m]))"}, {"time", "1700000045"}}));
  CHECK(r.body == R"({"status":"success","data":)" + data + "}}");

  // A range query: 3 series x 4 steps held, then the answer.
  r = api.QueryRange(Request({{"query", "x"},
                              {"start", "1700000000"},
                              {"end", "1700000045"},
                              {"step", "15"},
                              {"stats", "1"}}));
  REQUIRE(r.status == 200);
  CHECK(r.body.find(R"(,"stats":{"samples":{"peakSamples":12},"keel":{)") !=
        std::string::npos);
  CHECK(r.body.ends_with("}}}}"));
}

}  // namespace
}  // namespace keel::tools
