// keel serve's remote-write limits (issue 13): samples ahead of the clock
// refused at the door, retention that one outlier cannot drive, the series
// limits, no series created for refused samples, and the decoded budget
// shared by concurrent writes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <snappy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/series/selector.h"
#include "core/series/series_store.h"
#include "tests/testing/http_exchange.h"
#include "tests/testing/temp_dir.h"
#include "tools/server/prom_api.h"
#include "tools/server/remote_write.h"
#include "tools/server/serve_app.h"

namespace keel::tools {
namespace {

using testing::TempDir;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kYear = 365 * 24 * kHour;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using Reply = testing::HttpReply;
using testing::HttpExchange;
using testing::HttpRequestText;

Reply PostNoAssert(int port, const std::string& target, const std::string& body,
                   const std::string& headers) {
  return HttpExchange(port, HttpRequestText("POST", target, body, headers));
}

Reply Post(int port, const std::string& target, const std::string& body,
           const std::string& headers = "") {
  Reply reply = PostNoAssert(port, target, body, headers);
  REQUIRE(reply.status != 0);
  return reply;
}

Reply Get(int port, const std::string& target) {
  Reply reply = HttpExchange(port, HttpRequestText("GET", target));
  REQUIRE(reply.status != 0);
  return reply;
}

struct SeriesSpec {
  std::string name;
  std::vector<int64_t> times;
};

std::string Body(const std::vector<SeriesSpec>& all) {
  prompb::WriteRequest request;
  for (const SeriesSpec& spec : all) {
    auto* series = request.add_timeseries();
    auto* label = series->add_labels();
    label->set_name("__name__");
    label->set_value(spec.name);
    for (int64_t t : spec.times) {
      auto* sample = series->add_samples();
      sample->set_timestamp(t);
      sample->set_value(1.5);
    }
  }
  std::string raw = request.SerializeAsString(), compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  return compressed;
}

const std::string kSnappy = "Content-Encoding: snappy\r\n";

ServeConfig Config(const TempDir& dir) {
  ServeConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 8;
  config.ip2asn = {
      dir.Write("v4.tsv", "1.0.0.0\t1.0.0.255\t13335\tAU\tCloudflare, Inc.\n")};
  config.data_dir = dir.path() + "/data";
  config.snapshot_interval_ms = 3600 * 1000;
  config.chunk_window_ms = kHour;
  config.retention_windows = 3;
  return config;
}

bool Exists(core::SeriesStore& store, const std::string& name) {
  auto found = store.Find({{"__name__", name}});
  return found.ok() && found->has_value();
}

size_t Samples(core::SeriesStore& store, const std::string& name) {
  auto matchers = core::ParseSelector(name);
  REQUIRE(matchers.ok());
  core::SeriesSet set = store.Select(*matchers, INT64_MIN, INT64_MAX);
  size_t n = 0;
  for (const auto& e : set.series()) {
    for (auto it = set.Samples(e); it.Next();) ++n;
  }
  return n;
}

// Issue 13, finding 1.
TEST_CASE(
    "a sample far ahead of the clock is refused and cannot drive "
    "retention") {
  TempDir dir("serve_write_limits");
  ServeConfig config = Config(dir);
  int64_t now = NowMs();
  {
    auto app = ServeApp::Start(config);
    REQUIRE(app.ok());
    int port = (*app)->port();
    REQUIRE(Post(port, "/api/v1/write",
                 Body({{"victim", {now - kMinute, now}}}), kSnappy)
                .status == 204);
    Reply evil =
        Post(port, "/api/v1/write",
             Body({{"evil", {now + kYear}}, {"victim", {now + 1}}}), kSnappy);
    CHECK(evil.status == 400);
    CHECK_THAT(evil.body, Catch::Contains("1 samples rejected (1 stored)"));
    CHECK_THAT(evil.body, Catch::Contains("too_far_in_future=1"));
    CHECK_THAT(evil.body, Catch::Contains("--max-future"));
    CHECK_FALSE(Exists((*app)->store(), "evil"));
    Reply metrics = Get(port, "/metrics");
    CHECK_THAT(metrics.body,
               Catch::Contains("keel_remote_write_rejected_samples_total{"
                               "reason=\"too_far_in_future\"} 1\n"));

    // An outlier already stored (by an older server, or from a snapshot)
    // must not anchor retention either.
    REQUIRE(
        (*app)->store().Append({{"__name__", "evil"}}, now + kYear, 6).ok());
    core::TruncateResult dropped = (*app)->store().ApplyRetention(NowMs());
    CHECK(dropped.series == 0);
    CHECK(Samples((*app)->store(), "victim") == 3);
    CHECK(Post(port, "/api/v1/write", Body({{"victim", {now + 2}}}), kSnappy)
              .status == 204);
    REQUIRE((*app)->Stop().ok());  // snapshots the outlier too
  }
  // After a restart the same: the present survives retention and writes.
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  REQUIRE(Exists((*app)->store(), "evil"));
  CHECK((*app)->store().ApplyRetention(NowMs()).series == 0);
  CHECK(Samples((*app)->store(), "victim") == 4);
  CHECK(Post((*app)->port(), "/api/v1/write", Body({{"victim", {now + 3}}}),
             kSnappy)
            .status == 204);
  REQUIRE((*app)->Stop().ok());
}

// Issue 13, finding 3: series limits, and no empty series for refused samples.
TEST_CASE("series limits refuse new series and count their samples") {
  TempDir dir("serve_write_limits");
  ServeConfig config = Config(dir);
  config.data_dir.clear();
  config.max_series = 5;
  config.max_new_series_per_request = 3;
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  int port = (*app)->port();
  int64_t now = NowMs();
  Reply r = Post(port, "/api/v1/write",
                 Body({{"a", {now}},
                       {"b", {now}},
                       {"c", {now, now + 1}},
                       {"d", {now, now + 1}}}),
                 kSnappy);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("2 samples rejected (4 stored)"));
  CHECK_THAT(r.body, Catch::Contains("new_series_limit=2"));
  CHECK_THAT(r.body, Catch::Contains("--max-new-series-per-request"));
  CHECK_FALSE(Exists((*app)->store(), "d"));
  // Existing series do not count as new.
  r = Post(port, "/api/v1/write",
           Body({{"a", {now + 1}},
                 {"b", {now + 1}},
                 {"c", {now + 2}},
                 {"d", {now}},
                 {"e", {now}},
                 {"f", {now}}}),
           kSnappy);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("1 samples rejected (5 stored)"));
  CHECK_THAT(r.body, Catch::Contains("series_limit=1"));
  CHECK_THAT(r.body, Catch::Contains("limit of 5 series"));
  CHECK_THAT(r.body, Catch::Contains("--max-series"));
  CHECK((*app)->store().Stats().series == 5);
  CHECK_FALSE(Exists((*app)->store(), "f"));
  Reply metrics = Get(port, "/metrics");
  CHECK_THAT(metrics.body, Catch::Contains("{reason=\"series_limit\"} 1\n"));
  CHECK_THAT(metrics.body,
             Catch::Contains("{reason=\"new_series_limit\"} 2\n"));
  REQUIRE((*app)->Stop().ok());
}

TEST_CASE("samples refused for their time create no series") {
  TempDir dir("serve_write_limits");
  ServeConfig config = Config(dir);
  config.data_dir.clear();
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  core::SeriesStore& store = (*app)->store();
  int64_t now = NowMs();
  REQUIRE(
      Post((*app)->port(), "/api/v1/write", Body({{"present", {now}}}), kSnappy)
          .status == 204);
  REQUIRE(store.ApplyRetention(now).kept_from > now - 3 * kHour);
  Reply r = Post((*app)->port(), "/api/v1/write",
                 Body({{"future", {now + kYear, now + kYear + 1}},
                       {"ancient", {now - 10 * kHour}},
                       {"mixed", {now - 10 * kHour, now}}}),
                 kSnappy);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("4 samples rejected (1 stored)"));
  CHECK_THAT(r.body, Catch::Contains("too_far_in_future=2"));
  CHECK_THAT(r.body, Catch::Contains("too_old=2"));
  CHECK(store.Stats().series == 2);
  CHECK_FALSE(Exists(store, "future"));
  CHECK_FALSE(Exists(store, "ancient"));
  CHECK(Samples(store, "mixed") == 1);
  REQUIRE((*app)->Stop().ok());
}

TEST_CASE("the decoded budget bounds concurrent writes: wait, then 503") {
  std::string body = Body({{"held", {1000, 2000, 3000}}});
  size_t decoded = 0;
  REQUIRE(snappy::GetUncompressedLength(body.data(), body.size(), &decoded));
  core::SeriesStore store;
  WriteLimits limits;
  limits.decoded_budget_bytes = decoded + 10;  // room for one request only
  limits.budget_wait_ms = 60 * 1000;
  PromApi api(&store, limits);
  HttpRequest request;
  request.body = body;

  // Room freed while a write waits: it goes through.
  REQUIRE(api.decoded_budget().Acquire(decoded, absl::ZeroDuration()));
  std::atomic<int> status{0};
  std::thread writer([&] { status = api.Write(request).status; });
  for (int i = 0; i < 100000 && api.decoded_budget().waiting() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  REQUIRE(api.decoded_budget().waiting() == 1);
  CHECK(status == 0);
  api.decoded_budget().Release(decoded);
  writer.join();
  CHECK(status == 204);
  CHECK(Samples(store, "held") == 3);
  CHECK(api.decoded_budget().in_use() == 0);

  // No room within the wait: 503 with Retry-After, and nothing stored.
  WriteLimits quick = limits;
  quick.budget_wait_ms = 10;
  core::SeriesStore other;
  PromApi busy(&other, quick);
  REQUIRE(busy.decoded_budget().Acquire(decoded, absl::ZeroDuration()));
  HttpResponse response = busy.Write(request);
  CHECK(response.status == 503);
  CHECK(response.headers == "Retry-After: 1\r\n");
  CHECK_THAT(response.body, Catch::Contains("--write-decoded-budget"));
  CHECK(other.Stats().series == 0);
  CHECK(busy.writes_throttled() == 1);
  busy.decoded_budget().Release(decoded);
  CHECK(busy.Write(request).status == 204);

  // Larger than the whole budget: it can never fit, so 400 at once.
  WriteLimits tiny = limits;
  tiny.decoded_budget_bytes = decoded - 1;
  PromApi never(&other, tiny);
  response = never.Write(request);
  CHECK(response.status == 400);
  CHECK_THAT(response.body,
             Catch::Contains("more than the whole write budget"));
}

TEST_CASE("concurrent writes over the budget store all of a request or none") {
  TempDir dir("serve_write_limits");
  ServeConfig config = Config(dir);
  config.data_dir.clear();
  int64_t now = NowMs();
  auto body_of = [&](int writer) {
    std::vector<SeriesSpec> all;
    for (int s = 0; s < 200; ++s) {
      all.push_back(
          {absl::StrCat("w", writer, "_", s), {now, now + 1, now + 2}});
    }
    return Body(all);
  };
  size_t decoded = 0;
  std::string first = body_of(0);
  REQUIRE(snappy::GetUncompressedLength(first.data(), first.size(), &decoded));
  config.write_decoded_budget_bytes = decoded * 3 / 2;
  auto app = ServeApp::Start(config);
  REQUIRE(app.ok());
  constexpr int kWriters = 6;
  std::vector<int> status(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      status[w] =
          PostNoAssert((*app)->port(), "/api/v1/write", body_of(w), kSnappy)
              .status;
    });
  }
  for (auto& t : threads) t.join();
  uint64_t expected_series = 0;
  for (int w = 0; w < kWriters; ++w) {
    INFO("writer " << w << " answered " << status[w]);
    REQUIRE((status[w] == 204 || status[w] == 503));
    bool stored = status[w] == 204;
    expected_series += stored ? 200 : 0;
    for (int s = 0; s < 200; s += 50) {
      std::string name = absl::StrCat("w", w, "_", s);
      CHECK(Samples((*app)->store(), name) == (stored ? 3u : 0u));
    }
  }
  CHECK((*app)->store().Stats().series == expected_series);
  REQUIRE((*app)->Stop().ok());
}

TEST_CASE("a malformed body stores nothing, even after good series") {
  core::SeriesStore store;
  PromApi api(&store);
  prompb::WriteRequest good;
  auto* series = good.add_timeseries();
  auto* label = series->add_labels();
  label->set_name("__name__");
  label->set_value("first");
  auto* sample = series->add_samples();
  sample->set_timestamp(1000);
  sample->set_value(1);
  // A second series field whose length runs past the end.
  std::string raw = good.SerializeAsString() + std::string("\x0a\x7f\x0a", 3);
  std::string compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  HttpRequest request;
  request.body = compressed;
  HttpResponse response = api.Write(request);
  CHECK(response.status == 400);
  CHECK_THAT(response.body, Catch::Contains("series 1: bad length at byte"));
  CHECK(store.Stats().series == 0);
}

TEST_CASE("series are read one at a time, as the whole message parses") {
  prompb::WriteRequest request;
  for (int i = 0; i < 3; ++i) {
    auto* series = request.add_timeseries();
    auto* label = series->add_labels();
    label->set_name("__name__");
    label->set_value(absl::StrCat("s", i));
    for (int j = 0; j <= i; ++j) {
      auto* sample = series->add_samples();
      sample->set_timestamp(j);
      sample->set_value(j * 0.5);
    }
  }
  request.add_metadata()->set_metric_family_name("s0");
  std::string raw = request.SerializeAsString();
  std::vector<std::string> seen;
  REQUIRE(ForEachRemoteWriteSeries(raw, [&](const prompb::TimeSeries& s) {
            seen.push_back(
                absl::StrCat(s.labels(0).value(), ":", s.samples_size()));
          }).ok());
  CHECK(seen == std::vector<std::string>{"s0:1", "s1:2", "s2:3"});
  // Every truncation either parses as the message would or fails.
  for (size_t cut = 0; cut < raw.size(); ++cut) {
    std::string part = raw.substr(0, cut);
    prompb::WriteRequest whole;
    bool parses = whole.ParseFromString(part);
    int count = 0;
    absl::Status s = ForEachRemoteWriteSeries(
        part, [&](const prompb::TimeSeries&) { ++count; });
    INFO("cut at " << cut);
    CHECK(s.ok() == parses);
    if (parses) CHECK(count == whole.timeseries_size());
  }
}

TEST_CASE("DecodedBudget waits for room, and gives up after the wait") {
  DecodedBudget budget(100);
  REQUIRE(budget.Acquire(60, absl::ZeroDuration()));
  CHECK_FALSE(budget.Acquire(50, absl::Milliseconds(1)));
  CHECK_FALSE(budget.Acquire(101, absl::Hours(1)));  // never fits: no wait
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = budget.Acquire(50, absl::Hours(1)); });
  for (int i = 0; i < 100000 && budget.waiting() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  REQUIRE(budget.waiting() == 1);
  budget.Release(60);
  waiter.join();
  CHECK(got);
  CHECK(budget.in_use() == 50);
  {
    DecodedBudget::Lease lease(budget, 50, absl::ZeroDuration());
    CHECK(lease.ok());
    CHECK(budget.in_use() == 100);
  }
  CHECK(budget.in_use() == 50);
}

}  // namespace
}  // namespace keel::tools
