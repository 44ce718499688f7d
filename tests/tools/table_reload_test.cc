// keel serve's table reload (issue 16): POST /v1/reload and SIGHUP's
// ServeApp::ReloadTables rebuild the tables from their files and swap the
// answers to the new files'; a missing or refused file keeps the old
// answers and says why; both are counted on /metrics.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/testing/serve_harness.h"
#include "tools/server/table_reloader.h"

namespace keel::testing {
namespace {

const std::string kAuth = "Authorization: Bearer reload-secret\r\n";

std::string Ranges(int asn) {
  return "1.0.0.0\t1.0.0.255\t" + std::to_string(asn) + "\tAU\tExample\n" +
         "2001:db8::\t2001:db8::ffff\t" + std::to_string(asn) + "\tUS\tSix\n";
}

std::string Prefixes(int asn) {
  return "1.0.0.0/24\t" + std::to_string(asn) + "\n";
}

std::string AsnOf(int port, const std::string& ip) {
  HttpReply r = Http(port, "GET", "/v1/lookup?ip=" + ip);
  REQUIRE(r.status == 200);
  size_t at = r.body.find("\"asn\":");
  REQUIRE(at != std::string::npos);
  return r.body.substr(at + 6, r.body.find(',', at) - at - 6);
}

std::string PrefixValue(int port) {
  HttpReply r = Http(port, "GET", "/v1/prefix?longest=1.0.0.1");
  REQUIRE(r.status == 200);
  return r.body;
}

// The value of one sample line of /metrics ("" when absent).
std::string MetricLine(int port, const std::string& series) {
  HttpReply r = Http(port, "GET", "/metrics");
  REQUIRE(r.status == 200);
  size_t at = r.body.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  size_t start = at + series.size() + 2;
  return r.body.substr(start, r.body.find('\n', start) - start);
}

struct Served {
  explicit Served(const TempDir& dir) {
    tools::ServeConfig config;
    config.listen = "127.0.0.1:0";
    config.threads = 8;
    config.ip2asn = {dir.Write("ip2asn.tsv", Ranges(13335))};
    config.pfx2as = dir.Write("pfx2as.dat", Prefixes(13335));
    config.auth_token_file = dir.Write("token", "reload-secret\n");
    auto started = tools::ServeApp::Start(config);
    REQUIRE(started.ok());
    app = *std::move(started);
  }
  std::unique_ptr<tools::ServeApp> app;
};

TEST_CASE("a reload swaps the answers to the new files'") {
  TempDir dir("table_reload_test");
  Served served(dir);
  const int port = served.app->port();
  CHECK(AsnOf(port, "1.0.0.1") == "13335");
  CHECK(AsnOf(port, "2001:db8::1") == "13335");
  const std::string first_loaded =
      MetricLine(port, "keel_table_loaded_timestamp_seconds{table=\"ip2asn\"}");
  CHECK(!first_loaded.empty());  // set by the first load
  CHECK(MetricLine(port, "keel_table_reloads_total{table=\"ip2asn\"}") == "0");

  // A write: the token is needed.
  CHECK(Http(port, "POST", "/v1/reload").status == 401);

  dir.Write("ip2asn.tsv", Ranges(64500));
  dir.Write("pfx2as.dat", Prefixes(64501));
  HttpReply r = Http(port, "POST", "/v1/reload", "", kAuth);
  REQUIRE(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("\"table\":\"ip2asn\""));
  CHECK_THAT(r.body, Catch::Contains("\"table\":\"pfx2as\""));
  CHECK_THAT(r.body, Catch::Contains(dir.File("ip2asn.tsv")));
  CHECK(AsnOf(port, "1.0.0.1") == "64500");
  CHECK(AsnOf(port, "2001:db8::1") == "64500");
  CHECK_THAT(PrefixValue(port), Catch::Contains("\"value\":64501"));

  // SIGHUP's path.
  dir.Write("ip2asn.tsv", Ranges(64510));
  REQUIRE(served.app->ReloadTables().ok());
  CHECK(AsnOf(port, "1.0.0.1") == "64510");
  CHECK_THAT(PrefixValue(port), Catch::Contains("\"value\":64501"));

  CHECK(MetricLine(port, "keel_table_reloads_total{table=\"ip2asn\"}") == "2");
  CHECK(MetricLine(port, "keel_table_reloads_total{table=\"pfx2as\"}") == "2");
  CHECK(MetricLine(
            port, "keel_table_reload_failures_total{table=\"ip2asn\"}") == "0");
  CHECK(std::stod(MetricLine(
            port, "keel_table_loaded_timestamp_seconds{table=\"ip2asn\"}")) >=
        std::stod(first_loaded));
}

TEST_CASE("a reload from a bad or missing file keeps the old answers") {
  TempDir dir("table_reload_test");
  Served served(dir);
  const int port = served.app->port();
  const std::string loaded =
      MetricLine(port, "keel_table_loaded_timestamp_seconds{table=\"ip2asn\"}");

  // A refused line: 400 naming the file and the line.
  dir.Write("ip2asn.tsv",
            "1.0.0.0\t1.0.0.255\t1\tAU\tOne\n"
            "1.0.1.0\tnot-an-address\t2\tAU\tTwo\n");
  HttpReply r = Http(port, "POST", "/v1/reload", "", kAuth);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("ip2asn: "));
  CHECK_THAT(r.body, Catch::Contains(dir.File("ip2asn.tsv") + ":2"));
  CHECK(AsnOf(port, "1.0.0.1") == "13335");

  // A missing file: 500 naming it; SIGHUP's path fails the same way.
  std::filesystem::remove(dir.File("pfx2as.dat"));
  dir.Write("ip2asn.tsv", Ranges(64500));
  r = Http(port, "POST", "/v1/reload", "", kAuth);
  CHECK(r.status == 500);
  CHECK_THAT(r.body, Catch::Contains("pfx2as: "));
  CHECK_THAT(r.body, Catch::Contains(dir.File("pfx2as.dat")));
  absl::Status s = served.app->ReloadTables();
  CHECK(!s.ok());
  CHECK_THAT(std::string(s.message()), Catch::Contains(dir.File("pfx2as.dat")));
  // Nothing of the reload is served: not even the good ip2asn file.
  CHECK(AsnOf(port, "1.0.0.1") == "13335");
  CHECK_THAT(PrefixValue(port), Catch::Contains("\"value\":13335"));

  CHECK(MetricLine(
            port, "keel_table_reload_failures_total{table=\"ip2asn\"}") == "1");
  CHECK(MetricLine(
            port, "keel_table_reload_failures_total{table=\"pfx2as\"}") == "2");
  CHECK(MetricLine(port, "keel_table_reloads_total{table=\"ip2asn\"}") == "0");
  CHECK(MetricLine(port,
                   "keel_table_loaded_timestamp_seconds{table=\"ip2asn\""
                   "}") == loaded);

  // Fixed, the next reload serves it.
  dir.Write("pfx2as.dat", Prefixes(64501));
  REQUIRE(Http(port, "POST", "/v1/reload", "", kAuth).status == 200);
  CHECK(AsnOf(port, "1.0.0.1") == "64500");
  CHECK_THAT(PrefixValue(port), Catch::Contains("\"value\":64501"));
}

TEST_CASE("a second reload while one runs answers 409") {
  TempDir dir("table_reload_test");
  Served served(dir);
  const int port = served.app->port();
  // The prefix file becomes a FIFO: the running reload blocks reading it
  // until this thread opens it to write, so then it is surely running.
  const std::string fifo = dir.File("pfx2as.dat");
  std::filesystem::remove(fifo);
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  absl::Status waited;
  std::thread running([&] { waited = served.app->ReloadTables(); });
  {
    std::ofstream feed(fifo);  // opens once the reload reads
    REQUIRE(feed.good());
    HttpReply r = Http(port, "POST", "/v1/reload", "", kAuth);
    CHECK(r.status == 409);
    CHECK_THAT(r.body, Catch::Contains("already running"));
    feed << Prefixes(64501);
  }
  running.join();
  CHECK(waited.ok());
  CHECK_THAT(PrefixValue(port), Catch::Contains("\"value\":64501"));
}

}  // namespace
}  // namespace keel::testing
