// keel serve in-process on an ephemeral loopback port: every endpoint's
// answers, and bad requests answering 400 with a reason, never a crash.
// The HTTP layer's own behaviour is serve_http_wire_test.cc's.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/ranges/range_table_builder.h"
#include "tests/testing/serve_harness.h"
#include "tools/server/serve_app.h"

namespace keel::tools {
namespace {

using testing::Http;
using testing::kSnappy;
using testing::kT0;
using testing::RemoteWriteBody;
using testing::SharedPort;
using testing::TempDir;
using testing::TestConfig;
using Reply = testing::HttpReply;

TEST_CASE("lookups answer JSON; bad IPs get 400 with the reason") {
  int port = SharedPort();

  Reply r = Http(port, "GET", "/v1/lookup?ip=1.0.0.1");
  CHECK(r.status == 200);
  CHECK(
      r.body ==
      R"({"ip":"1.0.0.1","asn":13335,"country":"AU","name":"Cloudflare, Inc.","range":["1.0.0.0","1.0.0.255"]})");
  r = Http(port, "GET", "/v1/lookup?ip=2001:4860::8888");
  CHECK(r.status == 200);
  CHECK(
      r.body ==
      R"({"ip":"2001:4860::8888","asn":15169,"country":"US","name":"Google LLC","range":["2001:4860::","2001:4860:ffff:ffff:ffff:ffff:ffff:ffff"]})");
  r = Http(port, "GET", "/v1/lookup?ip=1.0.2.1");  // an unrouted gap
  CHECK(r.status == 404);
  CHECK(r.body == R"({"ip":"1.0.2.1","error":"no range holds this address"})");

  for (const char* bad : {"/v1/lookup?ip=1.2.3", "/v1/lookup?ip=1.2.3.256",
                          "/v1/lookup?ip=fe80::1%25eth0", "/v1/lookup?ip=",
                          "/v1/lookup?ip=%ff%fe", "/v1/lookup"}) {
    INFO(bad);
    r = Http(port, "GET", bad);
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::StartsWith("{\"error\":\""));
  }

  r = Http(port, "POST", "/v1/lookup", R"(["1.0.0.1", "1.0.2.1", "1.0.5.5"])");
  CHECK(r.status == 200);
  CHECK(
      r.body ==
      R"([{"ip":"1.0.0.1","asn":13335,"country":"AU","name":"Cloudflare, Inc.","range":["1.0.0.0","1.0.0.255"]},)"
      R"({"ip":"1.0.2.1","error":"no range holds this address"},)"
      R"({"ip":"1.0.5.5","asn":38803,"country":"AU","name":"GTelecom \"Pty\" Ltd","range":["1.0.4.0","1.0.7.255"]}])");

  r = Http(port, "POST", "/v1/lookup", R"(["1.0.0.1", "nope"])");
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("element 1"));
  r = Http(port, "POST", "/v1/lookup", R"(["1.0.0.1", 7])");
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("expected a string at offset"));
  r = Http(port, "POST", "/v1/lookup", "");
  CHECK(r.status == 400);
  std::string many = "[";
  for (int i = 0; i <= 10000; ++i) many += (i ? ",\"1.0.0.1\"" : "\"1.0.0.1\"");
  many += "]";
  r = Http(port, "POST", "/v1/lookup", many);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("more than 10000 elements"));
  r = Http(port, "POST", "/v1/lookup", "", "", 50 << 20);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("exceeds the limit"));
}

TEST_CASE("prefix queries: longest, exact, more and less specifics") {
  int port = SharedPort();
  Reply r = Http(port, "GET", "/v1/prefix?longest=1.0.0.77");
  CHECK(r.status == 200);
  CHECK(r.body == R"([{"prefix":"1.0.0.0/24","value":13335}])");
  r = Http(port, "GET", "/v1/prefix?longest=1.0.9.9");
  CHECK(r.body == R"([{"prefix":"1.0.0.0/16","value":100}])");
  r = Http(port, "GET", "/v1/prefix?longest=9.9.9.9");
  CHECK(r.status == 200);
  CHECK(r.body == "[]");
  r = Http(port, "GET", "/v1/prefix?exact=1.0.4.0/22");
  CHECK(r.body == R"([{"prefix":"1.0.4.0/22","value":38803}])");
  r = Http(port, "GET", "/v1/prefix?more=1.0.0.0/16");
  CHECK(
      r.body ==
      R"([{"prefix":"1.0.0.0/16","value":100},{"prefix":"1.0.0.0/24","value":13335},{"prefix":"1.0.4.0/22","value":38803}])");
  r = Http(port, "GET", "/v1/prefix?less=1.0.0.0/24");
  CHECK(
      r.body ==
      R"([{"prefix":"1.0.0.0/16","value":100},{"prefix":"1.0.0.0/24","value":13335}])");
  r = Http(port, "GET", "/v1/prefix?longest=2001:4860:1::1");
  CHECK(r.body == R"([{"prefix":"2001:4860::/32","value":15169}])");
  for (const char* bad :
       {"/v1/prefix", "/v1/prefix?more=1.0.0.1/16", "/v1/prefix?exact=1.0.0.0",
        "/v1/prefix?less=1.0.0.0/33", "/v1/prefix?longest=x",
        "/v1/prefix?more=1.0.0.0/8&less=1.0.0.0/8"}) {
    INFO(bad);
    r = Http(port, "GET", bad);
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::StartsWith("{\"error\":\""));
  }
}

TEST_CASE("remote write in, Prometheus API out; bad bodies get 400") {
  int port = SharedPort();

  Reply r = Http(port, "POST", "/api/v1/write",
                 RemoteWriteBody("requests", kT0, 4), kSnappy);
  CHECK(r.status == 204);
  r = Http(port, "POST", "/api/v1/write",
           RemoteWriteBody("requests", kT0, 4, "other"), kSnappy);
  CHECK(r.status == 204);

  r = Http(
      port, "GET",
      "/api/v1/query?query=requests%7Bjob%3D%22test%22%7D&time=1700000050");
  CHECK(r.status == 200);
  CHECK(
      r.body ==
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"requests","job":"test"},"value":[1700000050,"3.5"]}]}})");
  // 5-minute lookback: nothing 301 s after the last sample.
  r = Http(port, "GET", "/api/v1/query?query=requests&time=1700000346");
  CHECK(r.body ==
        R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  r = Http(port, "GET",
           "/api/v1/"
           "query_range?query=requests%7Bjob%3D~%22te.*%22%7D&start=1700000000&"
           "end=2023-11-14T22:13:50Z&step=15s");
  CHECK(r.status == 200);
  CHECK(
      r.body ==
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"requests","job":"test"},"values":[[1700000000,"0.5"],[1700000015,"1.5"],[1700000030,"2.5"]]}]}})");
  r = Http(port, "GET", "/api/v1/series?match[]=requests");
  CHECK(
      r.body ==
      R"({"status":"success","data":[{"__name__":"requests","job":"other"},{"__name__":"requests","job":"test"}]})");

  // Bad remote-write bodies.
  r = Http(port, "POST", "/api/v1/write", "definitely not snappy", kSnappy);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("snappy"));
  std::string body = RemoteWriteBody("requests", kT0, 4);
  r = Http(port, "POST", "/api/v1/write", body.substr(0, body.size() / 2),
           kSnappy);
  CHECK(r.status == 400);
  r = Http(port, "POST", "/api/v1/write",
           std::string("\xff\xff\xff\xff\x0f", 5), kSnappy);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("over the limit"));
  r = Http(port, "POST", "/api/v1/write", "", kSnappy, 100 << 20);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("exceeds the limit"));
  std::string not_proto;
  snappy::Compress("\xff\xff\xff\xff", 4, &not_proto);
  r = Http(port, "POST", "/api/v1/write", not_proto, kSnappy);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("not a protobuf"));
  r = Http(port, "POST", "/api/v1/write", body, "Content-Encoding: gzip\r\n");
  CHECK(r.status == 400);
  r = Http(port, "POST", "/api/v1/write", RemoteWriteBody("bad-name", kT0, 1),
           kSnappy);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("bad labels"));
  r = Http(port, "POST", "/api/v1/write", RemoteWriteBody("requests", kT0, 1),
           kSnappy);  // older than the series' last sample
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("out of order"));

  // Bad queries.
  struct Case {
    const char* target;
    const char* reason;
  };
  for (Case c :
       {Case{"/api/v1/query?query=rate(requests)",
             R"(invalid parameter \"query\": 1:6: parse error: expected )"
             R"(type range vector in call to function \"rate\", got )"
             R"(instant vector)"},
        Case{"/api/v1/query?query=1%20%2B",
             "1:4: parse error: unexpected end of input"},
        Case{"/api/v1/query?query=histogram_count(requests)",
             R"(function \"histogram_count\" is not supported)"},
        Case{"/api/v1/query?query=requests%7Bjob%3D%22x%22",
             "1:17: parse error: unexpected end of input inside braces"},
        Case{"/api/v1/query?query=requests%7Bjob%3D~%22(%22%7D", "bad regex"},
        Case{"/api/v1/query?query=%7Bjob%3D~%22.*%22%7D", "non-empty matcher"},
        Case{"/api/v1/query", "1:1: parse error: no expression found"},
        Case{"/api/v1/query?query=requests&time=soon", "valid timestamp"},
        Case{"/api/v1/query_range?query=requests&start=1&end=2",
             R"(invalid parameter \"step\": cannot parse \"\")"},
        Case{"/api/v1/query_range?query=requests%5B5m%5D&start=1&end=2&step=1",
             R"(invalid expression type \"range vector\" for range query)"},
        Case{"/api/v1/query_range?query=requests&start=2&end=1&step=1",
             "before start"},
        Case{"/api/v1/query_range?query=requests&start=0&end=100000&step=1",
             "11,000 points"},
        Case{"/api/v1/query_range?query=requests&start=0&end=1&step=0", "step"},
        Case{"/api/v1/series", "no match[]"},
        Case{"/api/v1/series?match[]=requests%7B",
             R"(invalid parameter \"match[]\": 1:10: parse error)"},
        Case{"/api/v1/series?match[]=%7Bjob%3D%22%22%7D",
             "match[] must contain at least one non-empty matcher"}}) {
    INFO(c.target);
    r = Http(port, "GET", c.target);
    CHECK(r.status == 400);
    CHECK_THAT(r.body,
               Catch::StartsWith(
                   R"({"status":"error","errorType":"bad_data","error":")"));
    CHECK_THAT(r.body, Catch::Contains(c.reason));
  }
  CHECK(Http(port, "GET", "/api/v1/query?query=1%20%2B").body ==
        R"({"status":"error","errorType":"bad_data","error":"invalid )"
        R"(parameter \"query\": 1:4: parse error: unexpected end of input"})");

  // Form-encoded POST, as Grafana sends.
  r = Http(port, "POST", "/api/v1/query",
           "query=requests%7Bjob%3D%22other%22%7D&time=1700000050",
           "Content-Type: application/x-www-form-urlencoded\r\n");
  CHECK(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains(R"("job":"other")"));

  r = Http(port, "GET", "/nowhere");
  CHECK(r.status == 404);
  r = Http(port, "DELETE", "/v1/lookup");
  CHECK(r.status == 405);
}

TEST_CASE("metrics, snapshots, restart, and a bad newest snapshot") {
  TempDir dir("serve_http");
  ServeConfig config = TestConfig(dir);
  {
    auto app = ServeApp::Start(config);
    REQUIRE(app.ok());
    int port = (*app)->port();
    REQUIRE(Http(port, "POST", "/api/v1/write",
                 RemoteWriteBody("requests", kT0, 100), kSnappy)
                .status == 204);
    Reply r = Http(port, "GET", "/metrics");
    CHECK(r.status == 200);
    for (const char* line :
         {"\nkeel_series 1\n", "\nkeel_samples 100\n",
          "\nkeel_table_rows{table=\"ip2asn\"} ",
          "\nkeel_table_bytes{table=\"pfx2as\"} ", "\nkeel_chunk_bytes ",
          "\nkeel_bytes_per_sample ", "\nkeel_chunk_head_bytes ",
          "\nkeel_chunk_sealed_bytes ", "\nprocess_resident_memory_bytes ",
          "\nkeel_rss_bytes{kind=\"file\"} ",
          "\nkeel_rss_bytes{kind=\"thread_stacks\"} ",
          "\nkeel_snapshot_failures_total 0\n",
          "\nkeel_remote_write_samples_total 100\n",
          "\nkeel_alloc_resident_bytes{arena=\"all\"} "}) {
      INFO(line);
      CHECK_THAT(r.body, Catch::Contains(line));
    }
    CHECK_THAT(r.body, !Catch::Contains("_total_total"));
    r = Http(port, "POST", "/v1/snapshot");
    CHECK(r.status == 200);
    CHECK_THAT(r.body, Catch::Contains("\"samples\":100"));
    r = Http(port, "GET", "/metrics");
    CHECK_THAT(r.body, Catch::Contains("\nkeel_snapshots_total 1\n"));
    REQUIRE(Http(port, "POST", "/api/v1/write",
                 RemoteWriteBody("requests", kT0 + 100 * 15000, 10), kSnappy)
                .status == 204);
    REQUIRE((*app)->Stop().ok());  // the shutdown snapshot: 110 samples
  }
  REQUIRE(std::filesystem::exists(config.data_dir + "/series.snap"));
  REQUIRE(std::filesystem::exists(config.data_dir + "/series.snap.1"));
  const std::string range =
      "/api/v1/"
      "query_range?query=requests&start=1700000000&end=1700001650&step=15";
  // From here on the ip2asn table comes from one image file, mapped.
  auto table = core::LoadRangeTable(config.ip2asn, core::OverlapPolicy::kError);
  REQUIRE(table.ok());
  config.ip2asn = {dir.path() + "/ip2asn.image"};
  REQUIRE(table->Save(config.ip2asn[0]).ok());
  std::string before;
  {
    auto app = ServeApp::Start(config);
    REQUIRE(app.ok());
    Reply r = Http((*app)->port(), "GET", range);
    CHECK(r.status == 200);
    CHECK_THAT(r.body, Catch::Contains("[1700001635,\"9.5\"]"));
    before = r.body;
    r = Http((*app)->port(), "GET", "/v1/lookup?ip=2001:4860::1");
    CHECK(r.status == 200);
    CHECK_THAT(r.body, Catch::Contains("\"asn\":15169"));
    REQUIRE((*app)->Stop().ok());
  }
  {
    // Corrupt the newest snapshot: it is moved aside and the previous one
    // (taken by the same shutdown's rotation) restores.
    std::fstream f(config.data_dir + "/series.snap",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  {
    auto app = ServeApp::Start(config);
    REQUIRE(app.ok());
    Reply r = Http((*app)->port(), "GET", range);
    CHECK(r.status == 200);
    CHECK(r.body == before);
    bool moved_aside = false;
    for (const auto& entry :
         std::filesystem::directory_iterator(config.data_dir)) {
      moved_aside |=
          entry.path().filename().string().starts_with("series.snap.bad-");
    }
    CHECK(moved_aside);
    REQUIRE((*app)->Stop().ok());
  }
}

TEST_CASE("start-up errors are reported, not crashes") {
  TempDir dir("serve_http");
  ServeConfig config = TestConfig(dir);
  config.ip2asn = {dir.Write("bad.tsv", "1.0.0.0\tnot-an-ip\t1\tAU\tx\n")};
  auto app = ServeApp::Start(config);
  REQUIRE_FALSE(app.ok());
  CHECK_THAT(std::string(app.status().message()), Catch::Contains("bad.tsv"));
  config = TestConfig(dir);
  config.listen = "127.0.0.1:99999";
  CHECK_FALSE(ServeApp::Start(config).ok());
}

}  // namespace
}  // namespace keel::tools
