// keel serve in-process on an ephemeral loopback port: every endpoint's
// answers, and bad requests answering 400 with a reason, never a crash; the
// HTTP layer's timeouts, limits, token and edge cases over raw sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <snappy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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
#include "tests/testing/http_exchange.h"
#include "tests/testing/temp_dir.h"
#include "tools/server/remote_write.h"
#include "tools/server/serve_app.h"

namespace keel::tools {
namespace {

using testing::TempDir;

using Reply = testing::HttpReply;

// One HTTP/1.1 request on a fresh connection; `content_length` < 0 sends
// the body's own length.
Reply Http(int port, const std::string& method, const std::string& target,
           const std::string& body = "", const std::string& headers = "",
           long long content_length = -1) {
  Reply reply = testing::HttpExchange(
      port,
      testing::HttpRequestText(method, target, body, headers, content_length));
  REQUIRE(reply.status != 0);
  return reply;
}

// A raw client connection, for what the server does on the wire.
class Conn {
 public:
  explicit Conn(int port, int family = AF_INET) {
    fd_ = socket(family, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int rc;
    if (family == AF_INET6) {
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_port = htons(static_cast<uint16_t>(port));
      addr.sin6_addr = in6addr_loopback;
      rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    }
    REQUIRE(rc == 0);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { close(fd_); }

  // False once the server has closed (it may close before all is sent).
  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(data.size());
  }
  // Whether the server has answered or closed (something to read).
  bool Readable(int wait_ms = 0) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    return poll(&p, 1, wait_ms) > 0;
  }
  // What arrives until the server closes, or `seconds` pass (then "closed"
  // stays false).
  std::string ReadToClose(double seconds = 10) {
    std::string out;
    auto end = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int>(seconds * 1000));
    closed = false;
    char buf[65536];
    while (std::chrono::steady_clock::now() < end) {
      if (!Readable(50)) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {  // end of stream, or a reset after unread input
        closed = true;
        break;
      }
      out.append(buf, n);
    }
    return out;
  }
  // One whole answer on a kept-alive connection: headers, then the body of
  // its Content-Length.
  std::string ReadAnswer(double seconds = 10) {
    std::string out;
    auto end = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int>(seconds * 1000));
    char c;
    while (std::chrono::steady_clock::now() < end &&
           out.find("\r\n\r\n") == std::string::npos) {
      if (Readable(50) && recv(fd_, &c, 1, 0) == 1) out.push_back(c);
    }
    size_t at = out.find("Content-Length: ");
    size_t length =
        at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
    size_t want = out.size() + length;
    while (std::chrono::steady_clock::now() < end && out.size() < want) {
      if (Readable(50) && recv(fd_, &c, 1, 0) == 1) out.push_back(c);
    }
    return out;
  }
  bool closed = false;

 private:
  int fd_ = -1;
};

int StatusOf(const std::string& answer) {
  return answer.size() > 12 && answer.starts_with("HTTP/1.1 ")
             ? std::stoi(answer.substr(9, 3))
             : 0;
}

ServeConfig TestConfig(const TempDir& dir) {
  ServeConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 8;
  config.ip2asn = {
      dir.Write("v4.tsv",
                "1.0.0.0\t1.0.0.255\t13335\tAU\tCloudflare, Inc.\n"
                "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
                "1.0.4.0\t1.0.7.255\t38803\tAU\tGTelecom \"Pty\" Ltd\n"),
      dir.Write("v6.tsv",
                "2001:4860::\t2001:4860:ffff:ffff:ffff:ffff:ffff:ffff\t15169\t"
                "US\tGoogle LLC\n")};
  config.pfx2as = dir.Write("pfx2as.dat",
                            "; comment\n"
                            "1.0.0.0/16\t100\n"
                            "1.0.0.0/24\t13335\n"
                            "1.0.4.0/22\t38803\n"
                            "2001:4860::/32\t15169\n");
  config.data_dir = dir.path() + "/data";
  config.snapshot_interval_ms = 3600 * 1000;
  return config;
}

std::string RemoteWriteBody(const std::string& name, int64_t t0, int count,
                            const std::string& job = "test") {
  prompb::WriteRequest request;
  auto* series = request.add_timeseries();
  for (auto [n, v] :
       {std::pair<std::string, std::string>{"__name__", name}, {"job", job}}) {
    auto* label = series->add_labels();
    label->set_name(n);
    label->set_value(v);
  }
  for (int i = 0; i < count; ++i) {
    auto* sample = series->add_samples();
    sample->set_timestamp(t0 + i * 15000);
    sample->set_value(i + 0.5);
  }
  std::string raw = request.SerializeAsString(), compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  return compressed;
}

// One server for the cases that need no restart: stopping civetweb takes
// about a second. Destroyed at exit, before its directory.
int SharedPort() {
  static TempDir dir("serve_http");
  static std::unique_ptr<ServeApp> app = [] {
    auto started = ServeApp::Start(TestConfig(dir));
    REQUIRE(started.ok());
    return *std::move(started);
  }();
  REQUIRE(app->port() > 0);
  return app->port();
}

const std::string kSnappy = "Content-Encoding: snappy\r\n";
constexpr int64_t kT0 = 1700000000000;

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
          "\nkeel_bytes_per_sample ", "\nkeel_process_resident_bytes ",
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

TEST_CASE("HTTP edge cases: framing, HEAD, OPTIONS, absolute-form targets") {
  int port = SharedPort();
  const std::string body = R"(["1.0.0.1"])";
  auto post = [&](const std::string& headers) {
    Conn c(port);
    c.Send("POST /v1/lookup HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n" + body);
    std::string answer = c.ReadToClose();
    CHECK(c.closed);
    return answer;
  };
  const std::string length = std::to_string(body.size());
  // Two lengths that disagree: refused, whichever a proxy would take.
  std::string a = post("Content-Length: 5\r\nContent-Length: " + length +
                       "\r\nConnection: close\r\n");
  CHECK(StatusOf(a) == 400);
  CHECK_THAT(a, Catch::Contains("conflicting Content-Length"));
  a = post("Content-Length: " + length + ", 99\r\nConnection: close\r\n");
  CHECK(StatusOf(a) == 400);
  a = post("Content-Length: " + length +
           "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n");
  CHECK(StatusOf(a) == 400);
  CHECK_THAT(a, Catch::Contains("Content-Length and Transfer-Encoding"));
  // Repeated equal values are one length (RFC 9112 6.3).
  a = post("Content-Length: " + length + "\r\nContent-Length: " + length +
           "\r\nConnection: close\r\n");
  CHECK(StatusOf(a) == 200);
  CHECK_THAT(a, Catch::Contains("\"asn\":13335"));

  // HEAD: GET's headers, no body.
  std::string get = Http(port, "GET", "/v1/lookup?ip=1.0.0.1").body;
  Conn head(port);
  head.Send(
      "HEAD /v1/lookup?ip=1.0.0.1 HTTP/1.1\r\nHost: x\r\nConnection: "
      "close\r\n\r\n");
  a = head.ReadToClose();
  CHECK(StatusOf(a) == 200);
  CHECK_THAT(a,
             Catch::Contains("Content-Length: " + std::to_string(get.size())));
  CHECK_THAT(a, Catch::EndsWith("\r\n\r\n"));
  Conn head404(port);
  head404.Send(
      "HEAD /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  a = head404.ReadToClose();
  CHECK(StatusOf(a) == 404);
  CHECK_THAT(a, Catch::EndsWith("\r\n\r\n"));

  // OPTIONS, for the server and for a path; 405 says what is allowed.
  Conn star(port);
  star.Send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  a = star.ReadToClose();
  CHECK(StatusOf(a) == 204);
  CHECK_THAT(a, Catch::Contains("Allow: GET, HEAD, POST, OPTIONS\r\n"));
  Conn options(port);
  options.Send("OPTIONS /v1/lookup HTTP/1.1\r\nHost: x\r\n\r\n");
  a = options.ReadAnswer();
  CHECK(StatusOf(a) == 204);
  CHECK_THAT(a, Catch::Contains("Allow: GET, HEAD, OPTIONS, POST\r\n"));
  Conn del(port);
  del.Send("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  a = del.ReadAnswer();
  CHECK(StatusOf(a) == 405);
  CHECK_THAT(a, Catch::Contains("Allow: GET, HEAD, OPTIONS\r\n"));

  // Absolute-form targets are routed by their path; another port is
  // misdirected.
  Conn absolute(port);
  absolute.Send("GET http://127.0.0.1:" + std::to_string(port) +
                "/v1/lookup?ip=1.0.0.1 HTTP/1.1\r\nHost: x\r\n\r\n");
  a = absolute.ReadAnswer();
  CHECK(StatusOf(a) == 200);
  CHECK_THAT(a, Catch::EndsWith(get));
  Conn elsewhere(port);
  elsewhere.Send(
      "GET http://example.com/v1/lookup?ip=1.0.0.1 HTTP/1.1\r\nHost: "
      "x\r\n\r\n");
  a = elsewhere.ReadToClose();
  CHECK(StatusOf(a) == 421);
}

// A write sent this slowly never ends: 100000 bytes, one at a time.
const std::string kSlowWrite =
    "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: "
    "snappy\r\nContent-Length: 100000\r\n\r\n";

TEST_CASE(
    "slow bodies are dropped at the read timeout; writes over the limit "
    "answer 503; others are answered meanwhile") {
  TempDir dir("serve_http");
  ServeConfig config = TestConfig(dir);
  config.threads = 4;
  config.read_timeout_ms = 1000;
  config.max_concurrent_writes = 2;
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  int port = (*app)->port();

  std::vector<std::unique_ptr<Conn>> slow;
  for (int i = 0; i < 2; ++i) {
    slow.push_back(std::make_unique<Conn>(port));
    slow.back()->Send(kSlowWrite + "x");
  }
  // Both hold their write slots (their first byte is being read) before the
  // third comes.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Conn third(port);
  third.Send(kSlowWrite);
  std::string a = third.ReadToClose();
  CHECK(StatusOf(a) == 503);
  CHECK_THAT(a, Catch::Contains("Retry-After: 1\r\n"));
  CHECK_THAT(a, Catch::Contains("too many concurrent write requests"));

  // A lookup is answered while the slow writes trickle; then they are cut
  // off, though each keeps sending a byte every 100 ms.
  CHECK(Http(port, "GET", "/v1/lookup?ip=1.0.0.1").status == 200);
  std::vector<bool> done(slow.size(), false);
  for (int tick = 0; tick < 100; ++tick) {  // 10 s at most
    bool all = true;
    for (size_t i = 0; i < slow.size(); ++i) {
      if (!done[i]) done[i] = slow[i]->Readable() || !slow[i]->Send("x");
      all = all && done[i];
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (size_t i = 0; i < slow.size(); ++i) {
    INFO(i);
    REQUIRE(done[i]);
    std::string cut = slow[i]->ReadToClose();
    CHECK(slow[i]->closed);
    // The 408 is lost when the server's close meets unread input (reset).
    if (!cut.empty()) CHECK(StatusOf(cut) == 408);
  }
  std::string metrics = Http(port, "GET", "/metrics").body;
  CHECK_THAT(metrics,
             Catch::Contains(
                 "\nkeel_http_limit_rejections_total{kind=\"write\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("\nkeel_http_read_timeouts_total 2\n"));
  REQUIRE((*app)->Stop().ok());
}

TEST_CASE("idle connections do not keep new requests waiting") {
  TempDir dir("serve_http");
  ServeConfig config = TestConfig(dir);
  config.threads = 4;
  config.read_timeout_ms = 1000;
  config.idle_timeout_ms = 300;
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  int port = (*app)->port();
  std::vector<std::unique_ptr<Conn>> idle;
  for (int i = 0; i < 4; ++i) {  // each served once, then kept alive
    idle.push_back(std::make_unique<Conn>(port));
    idle.back()->Send("GET /v1/lookup?ip=1.0.0.1 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(StatusOf(idle.back()->ReadAnswer()) == 200);
  }
  for (int i = 0; i < 12; ++i) {  // never say a word
    idle.push_back(std::make_unique<Conn>(port));
  }
  // Every worker is taken: this one waits for idle ones to time out, not
  // for the 30 s it used to.
  Conn fresh(port);
  fresh.Send(
      "GET /v1/lookup?ip=1.0.0.1 HTTP/1.1\r\nHost: x\r\nConnection: "
      "close\r\n\r\n");
  std::string a = fresh.ReadToClose(10);
  CHECK(StatusOf(a) == 200);
  for (auto& c : idle) {
    c->ReadToClose(10);
    CHECK(c->closed);
  }
  REQUIRE((*app)->Stop().ok());
}

TEST_CASE("a bearer token guards writes and snapshots, not reads") {
  TempDir dir("serve_http");
  ServeConfig config = TestConfig(dir);
  config.auth_token_file = dir.Write("token", "s3cret-token\n");
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  int port = (*app)->port();
  std::string write = RemoteWriteBody("guarded", kT0, 2);
  for (const char* header : {"", "Authorization: Bearer wrong-token\r\n",
                             "Authorization: Bearer s3cret-token2\r\n",
                             "Authorization: Basic s3cret-token\r\n"}) {
    INFO(header);
    Conn c(port);
    c.Send(
        "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: "
        "snappy\r\n" +
        std::string(header) +
        "Content-Length: " + std::to_string(write.size()) + "\r\n\r\n" + write);
    std::string a = c.ReadToClose();
    CHECK(StatusOf(a) == 401);
    CHECK_THAT(a, Catch::Contains("WWW-Authenticate: Bearer"));
  }
  CHECK(Http(port, "POST", "/v1/snapshot").status == 401);
  const std::string token = "Authorization: Bearer s3cret-token\r\n";
  CHECK(Http(port, "POST", "/api/v1/write", write, kSnappy + token).status ==
        204);
  CHECK(Http(port, "POST", "/v1/snapshot", "", token).status == 200);
  CHECK(Http(port, "GET", "/api/v1/series?match[]=guarded").status == 200);
  CHECK(Http(port, "GET", "/v1/lookup?ip=1.0.0.1").status == 200);
  CHECK_THAT(Http(port, "GET", "/metrics").body,
             Catch::Contains("\nkeel_http_unauthorized_total 5\n"));
  REQUIRE((*app)->Stop().ok());

  for (std::string bad : {dir.Write("empty", "\n"), dir.path() + "/missing"}) {
    config.auth_token_file = bad;
    auto failed = ServeApp::Start(config);
    REQUIRE_FALSE(failed.ok());
    CHECK_THAT(std::string(failed.status().message()), Catch::Contains(bad));
  }
}

TEST_CASE("ClientGone sees the client leave") {
  HttpServer server;
  std::atomic<int> gone{-1};
  server.Route("GET", "/wait", [&](const HttpRequest& r) {
    // Bounded: 10 s of 5 ms polls.
    for (int i = 0; i < 2000 && !r.ClientGone(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    gone = r.ClientGone() ? 1 : 0;
    return HttpResponse::Empty(204);
  });
  server.Route("GET", "/here", [](const HttpRequest& r) {
    return HttpResponse::Json(200, r.ClientGone() ? "true" : "false");
  });
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 2;
  REQUIRE(server.Start(options).ok());
  Reply here = Http(server.port(), "GET", "/here");
  CHECK(here.body == "false");
  {
    Conn c(server.port());
    c.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }  // closed
  for (int i = 0; i < 200 && gone < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(gone == 1);
  server.Stop();
}

TEST_CASE("listening on IPv6 loopback, or a clear refusal") {
  auto listen = ParseListenAddress("[::1]:0");
  REQUIRE(listen.ok());
  HttpServer server;
  server.Route("GET", "/ping",
               [](const HttpRequest&) { return HttpResponse::Json(200, "1"); });
  HttpServerOptions options;
  options.listen = *listen;
  options.threads = 2;
  absl::Status started = server.Start(options);
  if (!HttpServer::SupportsIpv6()) {
    REQUIRE_FALSE(started.ok());
    CHECK_THAT(std::string(started.message()),
               Catch::Contains("[::1]:0") && Catch::Contains("without IPv6"));
    return;
  }
  int probe = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  bool has_loopback =
      probe >= 0 &&
      bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (probe >= 0) close(probe);
  if (!has_loopback) {
    WARN("no IPv6 loopback here: the [::1] bind is not tested");
    return;
  }
  REQUIRE(started.ok());
  REQUIRE(server.port() > 0);
  Conn c(server.port(), AF_INET6);
  c.Send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(StatusOf(c.ReadToClose()) == 200);
  server.Stop();
}

}  // namespace
}  // namespace keel::tools
