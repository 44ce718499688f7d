// Lookups during repeated table reloads (issue 16): every answer is a 200
// from the old tables or the new, whole, never an error, while reloads
// (SIGHUP's path and POST /v1/reload, racing) alternate two feeds.
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/serve_harness.h"

namespace keel::testing {
namespace {

std::string Feed(int asn) {
  std::string out;
  for (int i = 0; i < 200; ++i) {
    out += "1.0." + std::to_string(i) + ".0\t1.0." + std::to_string(i) +
           ".255\t" + std::to_string(asn + i) + "\tAU\tExample " +
           std::to_string(i) + "\n";
  }
  return out;
}

struct ClientTally {
  int answers = 0;
  int errors = 0;       // not a 200, or no answer
  int old_answers = 0;  // 1.0.7.1 in AS 100007
  int new_answers = 0;  // 1.0.7.1 in AS 200007
  std::string first_error;
};

TEST_CASE("lookups see no error while the tables are reloaded") {
  TempDir dir("table_reload_concurrency_test");
  tools::ServeConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 16;
  config.ip2asn = {dir.Write("ip2asn.tsv", Feed(100000))};
  config.pfx2as = dir.Write("pfx2as.dat", "1.0.0.0/16\t1\n");
  auto app = tools::ServeApp::Start(config);
  REQUIRE(app.ok());
  const int port = (*app)->port();

  constexpr int kClients = 4;
  constexpr int kReloads = 12;
  std::atomic<bool> done{false};
  std::vector<ClientTally> tallies(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      ClientTally& t = tallies[c];
      const std::string get =
          HttpRequestText("GET", c % 2 ? "/v1/lookup?ip=1.0.7.1"
                                       : "/v1/prefix?longest=1.0.7.1");
      while (!done.load()) {
        HttpReply r = HttpExchange(port, get);
        ++t.answers;
        if (r.status != 200) {
          if (t.errors++ == 0) t.first_error = r.head + r.body;
        } else if (r.body.find("\"asn\":100007,") != std::string::npos) {
          ++t.old_answers;
        } else if (r.body.find("\"asn\":200007,") != std::string::npos) {
          ++t.new_answers;
        }
      }
    });
  }
  // Requests over HTTP race the signal path's reloads: each is served
  // (200) or turned away while another runs (409), never anything else.
  std::atomic<int> http_reloads{0}, http_refused{0}, http_other{0};
  std::thread http_reloader([&] {
    const std::string post = HttpRequestText("POST", "/v1/reload");
    while (!done.load()) {
      int status = HttpExchange(port, post).status;
      (status == 200   ? http_reloads
       : status == 409 ? http_refused
                       : http_other)
          .fetch_add(1);
    }
  });
  for (int i = 0; i < kReloads; ++i) {
    WriteFile(dir.File("ip2asn.next"), Feed(i % 2 ? 100000 : 200000));
    std::filesystem::rename(dir.File("ip2asn.next"), dir.File("ip2asn.tsv"));
    CHECK((*app)->ReloadTables().ok());
  }
  done.store(true);
  for (std::thread& t : clients) t.join();
  http_reloader.join();

  int lookups = 0;
  for (int c = 0; c < kClients; ++c) {
    INFO("client " << c << ": " << tallies[c].first_error);
    CHECK(tallies[c].errors == 0);
    CHECK(tallies[c].answers > 0);
    if (c % 2) {  // each lookup answered from one feed or the other, whole
      CHECK(tallies[c].old_answers + tallies[c].new_answers ==
            tallies[c].answers);
      lookups += tallies[c].answers;
    }
  }
  CHECK(lookups > 0);
  CHECK(http_other.load() == 0);
  // The last reload of this thread's served the 100000 feed.
  HttpReply last = Http(port, "GET", "/v1/lookup?ip=1.0.7.1");
  CHECK_THAT(last.body, Catch::Contains("\"asn\":100007,"));
}

}  // namespace
}  // namespace keel::testing
