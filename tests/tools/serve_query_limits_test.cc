// keel serve's query limits in-process: a slow selection stops at the query
// timeout (503 "timeout"), a query past its sample or byte budget answers
// 422 "execution", oversized selectors 400, and a client that hangs up
// cancels its query (counted in /metrics).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "tests/testing/http_exchange.h"
#include "tools/server/http_server.h"
#include "tools/server/serve_app.h"

namespace keel::tools {
namespace {

using Reply = testing::HttpReply;

// A GET, or a POST of a form when `form` is not empty.
std::string RequestText(const std::string& target,
                        const std::string& form = "") {
  return form.empty()
             ? testing::HttpRequestText("GET", target)
             : testing::HttpRequestText(
                   "POST", target, form,
                   "Content-Type: application/x-www-form-urlencoded\r\n");
}

Reply Get(int port, const std::string& target, const std::string& form = "") {
  Reply reply = testing::HttpExchange(port, RequestText(target, form));
  REQUIRE(reply.status != 0);
  return reply;
}

std::string Escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::string Query(std::string_view selector) {
  return "/api/v1/query?time=2&query=" + Escape(selector);
}

constexpr int64_t kT = 1000;  // every sample's time, ms

// `slow`: 500 series whose 4000-byte `id` values make RE2 fall back from
// its DFA to an NFA on kSlowRegex (milliseconds a value: minutes unbounded).
// `wide`: 300 series of one sample, each with a 200-byte label.
void Fill(core::SeriesStore& store) {
  std::mt19937 rng(11);
  for (int i = 0; i < 500; ++i) {
    std::string id(4000, 'a');
    for (char& c : id) c = "ab"[rng() % 2];
    auto ref = store.GetOrCreate({{"__name__", "slow"}, {"id", id}});
    REQUIRE(ref.ok());
    store.Append(*ref, kT, i);
  }
  for (int i = 0; i < 300; ++i) {
    auto ref = store.GetOrCreate({{"__name__", "wide"},
                                  {"i", std::to_string(i)},
                                  {"pad", std::string(200, 'p')}});
    REQUIRE(ref.ok());
    store.Append(*ref, kT, i);
  }
}

constexpr std::string_view kSlowRegex = "(.*a.{20}){40}b";

std::unique_ptr<ServeApp> StartApp(int64_t timeout_ms, uint64_t max_samples,
                                   uint64_t max_result_bytes) {
  ServeConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 8;
  config.query_timeout_ms = timeout_ms;
  config.query_max_samples = max_samples;
  config.query_max_result_bytes = max_result_bytes;
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  Fill((*app)->store());
  return *std::move(app);
}

std::string Stopped(int port, std::string_view reason) {
  Reply r = Get(port, "/metrics");
  REQUIRE(r.status == 200);
  std::string key = "keel_queries_stopped_total{reason=\"";
  key += reason;
  key += "\"} ";
  size_t at = r.body.find(key);
  REQUIRE(at != std::string::npos);
  return r.body.substr(at + key.size(),
                       r.body.find('\n', at) - at - key.size());
}

std::string SlowSelector() {
  std::string selector = "slow{id=~\"";
  selector += kSlowRegex;
  selector += "\"}";
  return selector;
}

TEST_CASE("a pathological regex stops at the query timeout") {
  std::unique_ptr<ServeApp> app =
      StartApp(/*timeout_ms=*/200, 50'000'000, 256 << 20);
  int port = app->port();
  std::string selector = SlowSelector();
  Reply r = Get(port, Query(selector));
  CHECK(r.status == 503);
  CHECK(r.body.find(R"("errorType":"timeout")") != std::string::npos);
  CHECK(r.body.find("query timed out") != std::string::npos);
  r = Get(port, "/api/v1/series?match[]=" + Escape(selector));
  CHECK(r.status == 503);
  r = Get(port, "/api/v1/query_range?start=0&end=10&step=1&query=" +
                    Escape(selector));
  CHECK(r.status == 503);

  // Many regex matchers: as many as allowed time out, more are refused.
  std::string many = "slow{";
  for (int i = 0; i < 63; ++i) {
    many += "id=~\"";
    many += kSlowRegex;
    many += "|x";
    many += std::to_string(i);
    many += "\",";
  }
  many += "}";
  r = Get(port, Query(many));
  CHECK(r.status == 503);
  CHECK(r.body.find(R"("errorType":"timeout")") != std::string::npos);
  CHECK(Stopped(port, "timeout") == "4");
  std::string thousand = "slow{";
  for (int i = 0; i < 1000; ++i) thousand += "id=~\"a.*\",";
  thousand += "}";
  // Too long for a URL: as a form.
  r = Get(port, "/api/v1/query", "query=" + Escape(thousand));
  CHECK(r.status == 400);
  INFO(r.body);
  CHECK(r.body.find("1001 matchers, more than the limit of 64") !=
        std::string::npos);
}

TEST_CASE("a query past its sample budget answers 422") {
  std::unique_ptr<ServeApp> app =
      StartApp(120'000, /*max_samples=*/100, 256 << 20);
  int port = app->port();
  // 300 series, one sample each.
  Reply r = Get(port, Query("wide"));
  CHECK(r.status == 422);
  CHECK(r.body.find(R"("errorType":"execution")") != std::string::npos);
  CHECK(r.body.find("query processing would load too many samples into "
                    "memory in query execution") != std::string::npos);
  // Two points (1 s and 2 s) for each of 300 series.
  r = Get(port, "/api/v1/query_range?start=0&end=2&step=1&query=wide");
  CHECK(r.status == 422);
  CHECK(Stopped(port, "limit") == "2");
  // Within the budget the same data answers.
  r = Get(port, Query(R"(wide{i=~"1.?"})"));
  CHECK(r.status == 200);
  CHECK(r.body.find(R"("status":"success")") != std::string::npos);
}

TEST_CASE("a query past its result byte budget answers 422") {
  std::unique_ptr<ServeApp> app = StartApp(120'000, 50'000'000,
                                           /*max_result_bytes=*/100'000);
  int port = app->port();
  // 99 series whose label sets take ~42 KB as copied (under the budget),
  // and whose answer over 201 steps is ~300 KB (past it).
  Reply r = Get(port, "/api/v1/query_range?start=0&end=200&step=1&query=" +
                          Escape(R"(wide{i=~"[1-9].?"})"));
  CHECK(r.status == 422);
  CHECK(r.body.find(R"("errorType":"execution")") != std::string::npos);
  CHECK(r.body.find("query result would exceed 100000 bytes") !=
        std::string::npos);
  // The same series at one step fit.
  r = Get(port, "/api/v1/query_range?start=0&end=2&step=1&query=" +
                    Escape(R"(wide{i=~"[1-9].?"})"));
  CHECK(r.status == 200);
  // The selected labels alone are past it: 500 ids of 4000 bytes, for a
  // query and for /api/v1/series alike.
  r = Get(port, Query(R"(slow{id=~"a.*"})"));
  CHECK(r.status == 422);
  CHECK(r.body.find("labels alone") != std::string::npos);
  r = Get(port, "/api/v1/series?match[]=" + Escape(R"(slow{id=~"a.*"})"));
  CHECK(r.status == 422);
  CHECK(Stopped(port, "limit") == "3");
  r = Get(port, Query(R"(wide{i="7"})"));
  CHECK(r.status == 200);
}

TEST_CASE("a client hanging up cancels its query") {
  std::unique_ptr<ServeApp> app =
      StartApp(/*timeout_ms=*/120'000, /*max_samples=*/50'000'000,
               /*max_result_bytes=*/256 << 20);
  int port = app->port();
  REQUIRE(Stopped(port, "canceled") == "0");
  std::string selector = SlowSelector();
  int fd = testing::ConnectLoopback(port);
  REQUIRE(fd >= 0);
  std::string request = RequestText(Query(selector));
  REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  close(fd);
  // Unbounded, the query runs for minutes; cancelled, it stops at its next
  // poll of the client.
  std::string canceled;
  for (int i = 0; i < 300 && canceled != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    canceled = Stopped(port, "canceled");
  }
  CHECK(canceled == "1");
  CHECK(Stopped(port, "timeout") == "0");
}

}  // namespace
}  // namespace keel::tools
