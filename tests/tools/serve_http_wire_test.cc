// keel serve's HTTP layer over raw sockets: framing, HEAD and OPTIONS,
// absolute-form targets, timeouts of slow and idle clients, the bearer
// token, a client that leaves, IPv6.
#include <sys/socket.h>

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
#include "tests/testing/serve_harness.h"
#include "tools/server/serve_app.h"

namespace keel::tools {
namespace {

using testing::Conn;
using testing::Http;
using testing::kSnappy;
using testing::kT0;
using testing::RemoteWriteBody;
using testing::SharedPort;
using testing::StatusOf;
using testing::TempDir;
using testing::TestConfig;
using Reply = testing::HttpReply;

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

  // A chunked body of several reads (over 16 KiB) arrives whole.
  std::string many = "[";
  for (int i = 0; i < 2000; ++i) many += (i ? ",\"1.0.0.1\"" : "\"1.0.0.1\"");
  many += "]";
  std::string chunked;
  for (size_t at = 0; at < many.size(); at += 1000) {
    std::string piece = many.substr(at, 1000);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  Conn streamed(port);
  streamed.Send(
      "POST /v1/lookup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\nConnection: close\r\n\r\n" +
      chunked);
  a = streamed.ReadToClose();
  CHECK(StatusOf(a) == 200);
  size_t answers = 0;
  for (size_t at = a.find("\"asn\":13335"); at != std::string::npos;
       at = a.find("\"asn\":13335", at + 1)) {
    ++answers;
  }
  CHECK(answers == 2000);

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
