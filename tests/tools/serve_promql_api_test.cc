// The Prometheus API's PromQL endpoints in-process: import, query and
// query_range with Prometheus' JSON, labels, label values, series, metadata
// from remote write, buildinfo, exemplars, health and readiness.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <snappy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "core/series/series_store.h"
#include "remote_write.pb.h"
#include "tests/testing/gzip.h"
#include "tests/testing/serve_harness.h"
#include "tools/server/http_server.h"
#include "tools/server/prom_api.h"
#include "tools/server/serve_app.h"

namespace keel::tools {
namespace {

using testing::Gzip;
using testing::Http;
using Reply = testing::HttpReply;

// 1700000000 + 0, 15, 30, 45, 60 s.
constexpr char kData[] =
    "# TYPE reqs counter\n"
    "reqs{job=\"a\",code=\"200\"} 0 1700000000000\n"
    "reqs{job=\"a\",code=\"200\"} 15 1700000015000\n"
    "reqs{job=\"a\",code=\"200\"} 30 1700000030000\n"
    "reqs{job=\"a\",code=\"500\"} 0 1700000000000\n"
    "reqs{job=\"a\",code=\"500\"} 30 1700000030000\n"
    "reqs{job=\"b\",code=\"200\"} 5 1700000030000\n"
    "tiny{job=\"a\"} 1e-7 1700000030000\n"
    "dup1{job=\"a\"} 1 1700000030000\n"
    "dup2{job=\"a\"} 2 1700000030000\n";

core::SeriesStoreOptions KeepAll() {
  core::SeriesStoreOptions options;
  options.retention_windows = 1'000'000;  // the data is from 2023
  return options;
}

WriteLimits ImportLimit(uint64_t bytes) {
  WriteLimits limits;
  limits.import_max_bytes = bytes;
  return limits;
}

struct Server {
  explicit Server(WriteLimits limits = {}, std::string token = "")
      : store(KeepAll()), api(&store, limits) {
    api.Register(&http);
    REQUIRE(http.Start({.listen = "127.0.0.1:0",
                        .threads = 4,
                        .auth_token = std::move(token)})
                .ok());
  }
  core::SeriesStore store;
  PromApi api;
  HttpServer http;
  int port() const { return http.port(); }
};

constexpr char kOk[] = R"({"status":"success","data":)";

TEST_CASE("import, then PromQL answers as Prometheus writes them") {
  Server s;
  REQUIRE(Http(s.port(), "POST", "/api/v1/import/prometheus", kData).status ==
          204);
  auto query = [&](const std::string& q) {
    return Http(s.port(), "GET", "/api/v1/query?" + q);
  };
  Reply r =
      query("query=sum%20by%20(job)%20(rate(reqs%5B1m%5D))&time=1700000030");
  CHECK(r.status == 200);
  CHECK(
      r.body ==
      std::string(kOk) +
          R"({"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1700000030,"1"]}]}})");
  r = query("query=1%2B1&time=1700000000.5");
  CHECK(r.body ==
        std::string(kOk) +
            R"({"resultType":"scalar","result":[1700000000.5,"2"]}})");
  r = query("query=%22s%3C%22&time=1700000000.25");
  CHECK(r.body ==
        std::string(kOk) +
            R"({"resultType":"string","result":[1700000000.25,"s\u003c"]}})");
  // Sample times keep three decimals; tiny values are Go's 'e' format.
  r = query("query=tiny&time=1700000030.5");
  CHECK(
      r.body ==
      std::string(kOk) +
          R"({"resultType":"vector","result":[{"metric":{"__name__":"tiny","job":"a"},"value":[1700000030.500,"1e-07"]}]}})");
  r = query("query=-reqs%7Bcode%3D%22500%22%7D%20%2F%200&time=1700000030");
  CHECK(
      r.body ==
      std::string(kOk) +
          R"({"resultType":"vector","result":[{"metric":{"code":"500","job":"a"},"value":[1700000030,"-Inf"]}]}})");
  // A range selector in an instant query is a matrix.
  r = query("query=reqs%7Bcode%3D%22500%22%7D%5B1m%5D&time=1700000030");
  CHECK(
      r.body ==
      std::string(kOk) +
          R"({"resultType":"matrix","result":[{"metric":{"__name__":"reqs","code":"500","job":"a"},"values":[[1700000000,"0"],[1700000030,"30"]]}]}})");
  // Range query, form-encoded POST.
  r = Http(s.port(), "POST", "/api/v1/query_range",
           "query=sum(reqs)&start=1700000000&end=1700000030&step=15s",
           "Content-Type: application/x-www-form-urlencoded\r\n");
  CHECK(
      r.body ==
      std::string(kOk) +
          R"({"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"0"],[1700000015,"15"],[1700000030,"65"]]}]}})");
  // An execution error is 422.
  r = query(
      "query=label_replace(%7B__name__%3D~%22dup.%22%7D%2C%22__name__%22%2C%22"
      "x%22%2C%22%22%2C%22%22)&time=1700000030");
  CHECK(r.status == 422);
  CHECK(
      r.body ==
      R"({"status":"error","errorType":"execution","error":"vector cannot contain metrics with the same labelset"})");
  // 11,000 steps past the start are allowed, 11,001 not.
  r = Http(s.port(), "GET",
           "/api/v1/query_range?query=1&start=0&end=11000&step=1");
  CHECK(r.status == 200);
  r = Http(s.port(), "GET",
           "/api/v1/query_range?query=1&start=0&end=11001&step=1");
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("11,000 points"));
  // A range query's syntax error names the position, without a prefix.
  r = Http(s.port(), "GET",
           "/api/v1/query_range?query=sum(&start=0&end=1&step=1");
  CHECK(
      r.body ==
      R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"})");
}

TEST_CASE("a large answer is streamed in chunks, byte for byte the same") {
  Server s;
  // 40 series of 400 points: an answer of a third of a megabyte.
  std::string data;
  for (int i = 0; i < 40; ++i) {
    for (int t = 0; t < 400; ++t) {
      data += "big{i=\"" + std::to_string(i) + "\"} " +
              std::to_string(t * 0.37 + i) + " " +
              std::to_string(1700000000000 + int64_t{t} * 15000) + "\n";
    }
  }
  REQUIRE(Http(s.port(), "POST", "/api/v1/import/prometheus", data).status ==
          204);
  const std::string target =
      "/api/v1/query_range?query=big&start=1700000000&end=1700005985&step=15";
  Reply streamed = Http(s.port(), "GET", target);
  REQUIRE(streamed.status == 200);
  CHECK(streamed.head.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(streamed.head.find("Content-Length") == std::string::npos);
  CHECK_FALSE(streamed.cut);
  CHECK(streamed.body.size() > 300'000);
  // stats=all builds the answer whole, then adds the stats to its data.
  Reply whole = Http(s.port(), "GET", target + "&stats=all");
  REQUIRE(whole.status == 200);
  CHECK(whole.head.find("Content-Length") != std::string::npos);
  size_t stats = whole.body.rfind(R"(,"stats":)");
  REQUIRE(stats != std::string::npos);
  CHECK(streamed.body == whole.body.substr(0, stats) + "}}");
  // HTTP/1.0 has no chunks: the same body, gathered, with its length.
  Reply old = testing::HttpExchange(
      s.port(), "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(old.status == 200);
  CHECK(old.head.find("Content-Length: " +
                      std::to_string(streamed.body.size())) !=
        std::string::npos);
  CHECK(old.body == streamed.body);
  // HEAD: the headers GET has, no body.
  Reply head = Http(s.port(), "HEAD", target);
  CHECK(head.status == 200);
  CHECK(head.head.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(head.body.empty());
}

TEST_CASE("labels, label values and series take match[], start and end") {
  Server s;
  REQUIRE(Http(s.port(), "POST", "/api/v1/import/prometheus", kData).status ==
          204);
  auto get = [&](const std::string& target) {
    return Http(s.port(), "GET", target).body;
  };
  CHECK(get("/api/v1/labels") ==
        std::string(kOk) + R"(["__name__","code","job"]})");
  CHECK(get("/api/v1/labels?match[]=tiny") ==
        std::string(kOk) + R"(["__name__","job"]})");
  CHECK(get("/api/v1/label/job/values") == std::string(kOk) + R"(["a","b"]})");
  CHECK(get("/api/v1/label/code/values?match[]=reqs%7Bjob%3D%22b%22%7D") ==
        std::string(kOk) + R"(["200"]})");
  // Only job="a" has samples before 1700000030.
  CHECK(get("/api/v1/label/job/values?end=1700000015") ==
        std::string(kOk) + R"(["a"]})");
  CHECK(get("/api/v1/label/nope/values") == std::string(kOk) + "[]}");
  Reply r = Http(s.port(), "GET", "/api/v1/label/a-b/values");
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains(R"(invalid label name: \"a-b\")"));
  CHECK(
      get("/api/v1/series?match[]=reqs%7Bcode%3D%22500%22%7D&match[]=tiny") ==
      std::string(kOk) +
          R"([{"__name__":"reqs","code":"500","job":"a"},{"__name__":"tiny","job":"a"}]})");
  CHECK(get("/api/v1/query_exemplars?query=reqs") == std::string(kOk) + "[]}");
  CHECK_THAT(get("/api/v1/status/buildinfo"),
             Catch::Contains(R"("version":"2.42.0")"));
}

TEST_CASE("an import is checked whole before anything is stored") {
  Server s(ImportLimit(4096), "secret");
  const std::string auth = "Authorization: Bearer secret\r\n";
  auto count = [&] {
    return Http(s.port(), "GET",
                "/api/v1/query?query=count(%7B__name__%3D~%22.%2B%22%7D)&"
                "time=1700000030")
        .body;
  };
  const std::string empty =
      std::string(kOk) + R"({"resultType":"vector","result":[]}})";
  CHECK(Http(s.port(), "POST", "/api/v1/import/prometheus", kData).status ==
        401);
  Reply r =
      Http(s.port(), "POST", "/api/v1/import/prometheus",
           "a 1 1700000000000\nb 2 1700000000000\nc{ 3 1700000000000\n", auth);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("line 3: "));
  CHECK(count() == empty);
  r = Http(s.port(), "POST", "/api/v1/import/prometheus",
           "a 1 1700000000000\nb{x=\"1\",x=\"2\"} 2 1700000000000\n", auth);
  CHECK(r.status == 400);
  CHECK(count() == empty);
  r = Http(s.port(), "POST", "/api/v1/import/prometheus", "not gzip",
           auth + "Content-Encoding: gzip\r\n");
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("gzip"));
  // Compressed, it fits the limit; decompressed it does not.
  std::string big;
  for (int i = 0; big.size() <= 4096; ++i) {
    big += "big " + std::to_string(i) + " " +
           std::to_string(1700000000000 + i) + "\n";
  }
  r = Http(s.port(), "POST", "/api/v1/import/prometheus", Gzip(big),
           auth + "Content-Encoding: gzip\r\n");
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("import-max-bytes"));
  CHECK(count() == empty);
  r = Http(s.port(), "POST", "/api/v1/import/prometheus", Gzip(kData),
           auth + "Content-Encoding: gzip\r\n");
  CHECK(r.status == 204);
  CHECK_THAT(count(), Catch::Contains(R"("value":[1700000030,"6"])"));
  // Samples out of order within a request are sorted; against stored ones
  // they are counted.
  r = Http(s.port(), "POST", "/api/v1/import/prometheus",
           "late 2 1700000001000\nlate 1 1700000000000\n"
           "tiny{job=\"a\"} 5 1700000000000\n",
           auth);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("1 samples rejected (2 stored)"));
}

TEST_CASE("metadata comes from remote-write requests") {
  Server s;
  prompb::WriteRequest request;
  auto* series = request.add_timeseries();
  auto* label = series->add_labels();
  label->set_name("__name__");
  label->set_value("reqs");
  auto* sample = series->add_samples();
  sample->set_timestamp(1700000000000);
  sample->set_value(1);
  auto* m = request.add_metadata();
  m->set_type(prompb::MetricMetadata::COUNTER);
  m->set_metric_family_name("reqs");
  m->set_help("Requests \"served\".");
  m = request.add_metadata();
  m->set_type(prompb::MetricMetadata::GAUGE);
  m->set_metric_family_name("temp");
  m->set_unit("celsius");
  std::string body;
  snappy::Compress(request.SerializeAsString().data(), request.ByteSizeLong(),
                   &body);
  CHECK(Http(s.port(), "GET", "/api/v1/metadata").body ==
        std::string(kOk) + "{}}");
  REQUIRE(Http(s.port(), "POST", "/api/v1/write", body,
               "Content-Encoding: snappy\r\n")
              .status == 204);
  CHECK(
      Http(s.port(), "GET", "/api/v1/metadata").body ==
      std::string(kOk) +
          R"({"reqs":[{"type":"counter","help":"Requests \"served\".","unit":""}],"temp":[{"type":"gauge","help":"","unit":"celsius"}]}})");
  CHECK(Http(s.port(), "GET", "/api/v1/metadata?metric=temp&limit=5").body ==
        std::string(kOk) +
            R"({"temp":[{"type":"gauge","help":"","unit":"celsius"}]}})");
  CHECK(
      Http(s.port(), "GET", "/api/v1/metadata?limit=1").body ==
      std::string(kOk) +
          R"({"reqs":[{"type":"counter","help":"Requests \"served\".","unit":""}]}})");
}

TEST_CASE("keel serve answers /-/healthy and, once restored, /-/ready") {
  ServeConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 4;
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  Reply r = Http((*app)->port(), "GET", "/-/healthy");
  CHECK(r.status == 200);
  CHECK(r.body == "keel is Healthy.\n");
  r = Http((*app)->port(), "GET", "/-/ready");
  CHECK(r.status == 200);
  CHECK(r.body == "keel is Ready.\n");
}

}  // namespace
}  // namespace keel::tools
