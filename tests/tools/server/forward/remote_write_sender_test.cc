// RemoteWriteSender against an in-process fake backend: every queued sample
// arrives once and each series in order, over shards and batches bounded by
// max-samples-per-send; 5xx and 429 (after its Retry-After) are retried,
// other 4xx dropped and counted; a sender stopped mid-outage resends after
// a restart exactly what was not acknowledged.
#include "tools/server/forward/remote_write_sender.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "remote_write.pb.h"
#include "tests/testing/temp_dir.h"
#include "tests/tools/server/forward/numbered_record.h"
#include "tools/server/http_server.h"
#include "tools/server/remote_write.h"

namespace keel::tools {
namespace {

using testing::TempDir;

// A remote-write endpoint that answers from a script (then 204) and keeps
// what it acknowledged.
class FakeBackend {
 public:
  FakeBackend() {
    server_.Route("POST", "/api/v1/write",
                  [this](const HttpRequest& r) { return Write(r); },
                  {.max_body_bytes = 16 << 20});
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 8;
    REQUIRE(server_.Start(options).ok());
  }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", server_.port(), "/api/v1/write");
  }
  void Script(std::deque<int> statuses, int forever = 0) {
    std::lock_guard lock(mu_);
    script_ = std::move(statuses);
    forever_ = forever;
  }
  // Samples acknowledged, per series (its "i" label), in arrival order.
  std::map<std::string, std::vector<int64_t>> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  size_t largest_batch() {
    std::lock_guard lock(mu_);
    return largest_batch_;
  }
  int requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  HttpResponse Write(const HttpRequest& r) {
    CHECK(r.Header("Content-Encoding") == "snappy");
    CHECK(r.Header("Content-Type") == "application/x-protobuf");
    CHECK(r.Header("X-Prometheus-Remote-Write-Version") == "0.1.0");
    CHECK(r.Header("Authorization") == "Bearer s3cret");
    CHECK(r.Header("X-Scope-OrgID") == "tenant-1");
    auto request = DecodeRemoteWrite(r.body, {});
    REQUIRE(request.ok());
    std::lock_guard lock(mu_);
    ++requests_;
    int status = forever_ != 0 ? forever_ : 204;
    if (!script_.empty()) {
      status = script_.front();
      script_.pop_front();
    }
    if (status == 204) {
      size_t samples = 0;
      for (const auto& ts : request->timeseries()) {
        std::string id;
        for (const auto& l : ts.labels()) {
          if (l.name() == "i") id = l.value();
        }
        for (const auto& s : ts.samples()) {
          received_[id].push_back(s.timestamp());
          ++samples;
        }
      }
      largest_batch_ = std::max(largest_batch_, samples);
      return HttpResponse::Empty(204);
    }
    HttpResponse answer = HttpResponse::Error(status, "scripted");
    if (status == 429) answer.headers = "Retry-After: 1\r\n";
    return answer;
  }

  HttpServer server_;
  std::mutex mu_;
  std::deque<int> script_;
  int forever_ = 0;
  std::map<std::string, std::vector<int64_t>> received_;
  size_t largest_batch_ = 0;
  int requests_ = 0;
};

// `records` records of `series` series, one sample each at t = record.
void Fill(ForwardQueue& queue, int records, int series) {
  for (int r = 0; r < records; ++r) {
    REQUIRE(
        queue
            .Append(NumberedRecord(
                series,
                [r](int) { return std::pair<int64_t, double>(1000 + r, r); }))
            .ok());
  }
}

template <typename Predicate>
bool WaitFor(Predicate done, int seconds = 30) {
  for (int i = 0; i < seconds * 50; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

struct Fixture {
  TempDir dir{"remote_write_sender"};
  alloc::Arena arena{"remote_write_sender_test"};
  std::unique_ptr<ForwardQueue> queue;
  FakeBackend backend;
  RemoteWriteDestination destination;

  Fixture() {
    auto q = ForwardQueue::Open({.dir = dir.path() + "/q"}, &arena);
    REQUIRE(q.ok());
    queue = *std::move(q);
    destination.url = backend.url();
    destination.name = "fake";
    destination.shards = 3;
    destination.max_samples_per_send = 500;
    destination.batch_send_deadline_ms = 100;
    destination.min_backoff_ms = 10;
    destination.max_backoff_ms = 100;
    destination.bearer_token_file = dir.Write("token", "s3cret\n");
    destination.headers = {"X-Scope-OrgID: tenant-1"};
  }
};

void CheckEachOnceInOrder(
    const std::map<std::string, std::vector<int64_t>>& got, int records,
    int series) {
  REQUIRE(got.size() == static_cast<size_t>(series));
  for (const auto& [id, times] : got) {
    INFO("series " << id);
    REQUIRE(times.size() == static_cast<size_t>(records));
    for (int r = 0; r < records; ++r) CHECK(times[r] == 1000 + r);
  }
}

TEST_CASE("every sample once, in order per series, through retries") {
  Fixture f;
  f.backend.Script({503, 503, 429, 500});
  auto sender = RemoteWriteSender::Start(f.destination, f.queue.get());
  REQUIRE(sender.ok());
  Fill(*f.queue, 20, 150);  // 3000 samples
  REQUIRE(WaitFor([&] { return (*sender)->sent_samples() == 3000; }));
  CheckEachOnceInOrder(f.backend.received(), 20, 150);
  CHECK(f.backend.largest_batch() <= 500);
  CHECK((*sender)->retried_samples() > 0);
  CHECK((*sender)->failed_samples() == 0);
  CHECK((*sender)->PendingSamples() == 0);
  CHECK((*sender)->highest_sent_timestamp_ms() == 1019);
  CHECK((*sender)->sent_bytes() > 0);
}

TEST_CASE("4xx other than 429 drops the batch, counted") {
  Fixture f;
  f.backend.Script({}, 400);
  auto sender = RemoteWriteSender::Start(f.destination, f.queue.get());
  REQUIRE(sender.ok());
  Fill(*f.queue, 4, 100);
  REQUIRE(WaitFor([&] { return (*sender)->failed_samples() == 400; }));
  CHECK((*sender)->sent_samples() == 0);
  CHECK((*sender)->PendingSamples() == 0);
  CHECK((*sender)->retried_samples() == 0);
}

TEST_CASE("stopped mid-outage, a restarted sender sends the rest once") {
  Fixture f;
  Fill(*f.queue, 10, 100);  // before the destination: never sent to it
  f.backend.Script({}, 503);
  f.destination.max_backoff_ms = 50;
  {
    auto sender = RemoteWriteSender::Start(f.destination, f.queue.get());
    REQUIRE(sender.ok());
    CHECK((*sender)->PendingSamples() == 0);  // a new destination: from now
    Fill(*f.queue, 5, 100);
    REQUIRE(WaitFor([&] { return (*sender)->retried_samples() > 0; }));
  }
  // The next start resumes at the destination's cursor.
  Fill(*f.queue, 5, 100);
  {
    auto sender = RemoteWriteSender::Start(f.destination, f.queue.get());
    REQUIRE(sender.ok());
    REQUIRE(WaitFor([&] { return (*sender)->retried_samples() > 0; }));
    CHECK((*sender)->PendingSamples() > 0);
    (*sender)->Stop();
  }
  CHECK(f.backend.received().empty());
  f.backend.Script({});
  auto sender = RemoteWriteSender::Start(f.destination, f.queue.get());
  REQUIRE(sender.ok());
  // The backlog is counted in the background (PendingSamples reads 0 until
  // then): wait for what was sent.
  REQUIRE(WaitFor([&] { return (*sender)->sent_samples() == 1000; }));
  CHECK((*sender)->PendingSamples() == 0);
  auto got = f.backend.received();
  REQUIRE(got.size() == 100);
  for (const auto& [id, times] : got) {
    INFO("series " << id);
    REQUIRE(times.size() == 10);
    for (int r = 0; r < 10; ++r) CHECK(times[r] == 1000 + r % 5);
  }
}

TEST_CASE("a missing token file is an error naming the destination") {
  Fixture f;
  f.destination.bearer_token_file = f.dir.path() + "/missing";
  auto sender = RemoteWriteSender::Start(f.destination, f.queue.get());
  REQUIRE_FALSE(sender.ok());
  CHECK_THAT(std::string(sender.status().message()),
             Catch::Contains("remote-write fake: bearer-token-file"));
}

}  // namespace
}  // namespace keel::tools
