// keel bench flood --url http://127.0.0.1:PORT --pid PID [--series N]
//   [--series-per-request K] [--writers W] [--queriers Q] [--seconds S]
//
// Attacks a running keel serve the way issue 13's write flood did, and
// prints one JSON object. W writer threads remote-write N new series
// (K a request, one sample each, labels flood_series{batch,id,job,instance}),
// retrying 429/503 after Retry-After as Prometheus' queue manager does; Q
// query threads meanwhile send selectors that touch every flood series; a
// probe thread asks /metrics and /v1/lookup twice a second and reads the
// server's RSS (VmRSS of PID), also from the first refused write (a limit
// reached) on, which shows whether the limits hold memory flat. When the
// writers are done (or S seconds have passed) every acknowledged (2xx) request
// is checked: its batch must answer all K series with the written value, else
// the samples count as lost.
//
// bench/flood.sh starts a server with chosen limits and runs this against it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/serve/remote_write_client.h"
#include "remote_write.pb.h"
#include "tools/command.h"
#include "tools/http_client.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "bench flood";
using bench::Clock;
using bench::LoopbackClient;
using bench::SecondsSince;
using bench::SendRequest;

struct Options {
  int port = 0;
  int pid = 0;
  uint64_t series = 10'000'000;
  uint64_t per_request = 10'000;
  int writers = 2;
  int queriers = 2;
  double seconds = 600;
};

// A batch's remote-write body: `per_request` series, one sample each.
std::string FloodBody(uint64_t batch, uint64_t per_request, int64_t t) {
  prompb::WriteRequest request;
  std::string batch_text = absl::StrCat(batch);
  for (uint64_t i = 0; i < per_request; ++i) {
    auto* series = request.add_timeseries();
    for (auto [name, value] :
         {std::pair<std::string, std::string>{"__name__", "flood_series"},
          {"batch", batch_text},
          {"id", absl::StrCat(i)},
          {"instance",
           absl::StrCat("10.1.", i % 250, ".", batch % 250, ":9100")},
          {"job", "flood"}}) {
      auto* label = series->add_labels();
      label->set_name(name);
      label->set_value(value);
    }
    auto* sample = series->add_samples();
    sample->set_timestamp(t);
    sample->set_value(static_cast<double>(batch * per_request + i));
  }
  return bench::SnappyCompress(request.SerializeAsString());
}

struct StatusCounts {
  std::mutex mu;
  std::map<int, uint64_t> by_status;
  void Add(int status) {
    std::lock_guard lock(mu);
    ++by_status[status];
  }
  std::string Json() {
    std::lock_guard lock(mu);
    JsonObject o;
    for (auto [status, n] : by_status) o.Add(absl::StrCat(status), n);
    return o.str();
  }
};

struct Probe {
  uint64_t probes = 0, failures = 0;
  double max_latency_s = 0;
};

struct Acknowledged {
  uint64_t batch;
  int64_t t;
};

struct FloodFlags {
  std::string url;
  Options options;
};

int RunFlood(const FloodFlags& flags) {
  Options o = flags.options;
  const std::string& url = flags.url;
  size_t colon = url.rfind(':');
  if (!url.starts_with("http://127.0.0.1:") ||
      !absl::SimpleAtoi(url.substr(colon + 1), &o.port)) {
    return UsageError(kName, absl::InvalidArgumentError(
                                 "needs --url http://127.0.0.1:PORT of a "
                                 "running keel serve (bench/flood.sh starts "
                                 "one)"));
  }

  const uint64_t batches = (o.series + o.per_request - 1) / o.per_request;
  const Clock::time_point start = Clock::now();
  std::atomic<uint64_t> next_batch{0};
  std::atomic<bool> writers_done{false};
  std::atomic<uint64_t> retries{0}, sent_bytes{0};
  std::atomic<bool> refused{false};  // a write was refused (a limit reached)
  StatusCounts write_status, query_status;
  std::mutex ack_mu;
  std::vector<Acknowledged> acknowledged;

  std::vector<std::thread> threads;
  for (int w = 0; w < o.writers; ++w) {
    threads.emplace_back([&] {
      HttpClient client = LoopbackClient(o.port);
      for (uint64_t batch; (batch = next_batch.fetch_add(1)) < batches &&
                           SecondsSince(start) < o.seconds;) {
        int64_t t = bench::UnixMillis();
        std::string body = FloodBody(batch, o.per_request, t);
        sent_bytes += body.size();
        bench::WriteOutcome outcome = bench::PostRemoteWrite(client, body);
        retries += outcome.retries;
        const HttpAnswer& r = outcome.answer;
        write_status.Add(r.status);
        if (r.status == 400) refused.store(true);
        if (r.status / 100 == 2) {
          std::lock_guard lock(ack_mu);
          acknowledged.push_back({batch, t});
        }
      }
    });
  }
  std::atomic<bool> stop_probes{false};
  for (int q = 0; q < o.queriers; ++q) {
    threads.emplace_back([&, q] {
      HttpClient client = LoopbackClient(o.port);
      const char* queries[] = {
          "/api/v1/query?query=%7B__name__%3D~%22flood.%2A%22%2Cid%3D~%22.%2A9%"
          "22%7D",
          "/api/v1/series?match%5B%5D=flood_series",
          "/api/v1/query?query=flood_series%7Binstance%3D~%22(.*)%7B20%7Db%22%"
          "7D"};
      for (int i = q; !stop_probes.load(); ++i) {
        HttpAnswer r = SendRequest(client, "GET", queries[i % 3], "", "");
        query_status.Add(r.status);
      }
    });
  }
  Probe metrics_probe, lookup_probe;
  uint64_t peak_rss = 0;
  uint64_t rss_at_first_refusal = 0, peak_rss_after_refusal = 0;
  std::thread prober([&] {
    HttpClient client = LoopbackClient(o.port);
    while (!stop_probes.load()) {
      for (auto [probe, target] :
           {std::pair<Probe*, const char*>{&metrics_probe, "/metrics"},
            {&lookup_probe, "/v1/lookup?ip=1.1.1.1"}}) {
        Clock::time_point begin = Clock::now();
        HttpAnswer r = SendRequest(client, "GET", target, "", "");
        probe->max_latency_s =
            std::max(probe->max_latency_s, SecondsSince(begin));
        ++probe->probes;
        if (r.status != 200) ++probe->failures;
      }
      uint64_t rss = bench::ProcessRssBytes(o.pid);
      peak_rss = std::max(peak_rss, rss);
      if (refused.load()) {
        if (rss_at_first_refusal == 0) rss_at_first_refusal = rss;
        peak_rss_after_refusal = std::max(peak_rss_after_refusal, rss);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  for (int w = 0; w < o.writers; ++w) threads[w].join();
  double write_seconds = SecondsSince(start);
  writers_done = true;
  stop_probes = true;
  for (size_t i = o.writers; i < threads.size(); ++i) threads[i].join();
  prober.join();

  // Every acknowledged batch must answer all its series.
  HttpClient client = LoopbackClient(o.port);
  uint64_t lost = 0, verify_failures = 0;
  for (const Acknowledged& a : acknowledged) {
    HttpAnswer r = SendRequest(
        client, "GET",
        absl::StrCat("/api/v1/query?query=flood_series%7Bbatch%3D%22", a.batch,
                     "%22%7D&time=", a.t / 1000, ".", a.t % 1000 / 100,
                     a.t % 100 / 10, a.t % 10),
        "", "");
    if (r.status != 200) {
      ++verify_failures;
      lost += o.per_request;
      continue;
    }
    // Each series' value is unique (batch * K + id, printed exactly).
    std::vector<uint64_t> values;
    for (size_t at = 0;
         (at = r.body.find("\"value\":[", at)) != std::string::npos;) {
      size_t open = r.body.find(",\"", at);
      size_t close = r.body.find('"', open + 2);
      if (open == std::string::npos || close == std::string::npos) break;
      uint64_t v = 0;
      if (absl::SimpleAtoi(
              absl::string_view(r.body).substr(open + 2, close - open - 2),
              &v)) {
        values.push_back(v);
      }
      at = close;
    }
    std::sort(values.begin(), values.end());
    uint64_t found = 0;
    for (uint64_t i = 0; i < o.per_request; ++i) {
      found += std::binary_search(values.begin(), values.end(),
                                  a.batch * o.per_request + i);
    }
    lost += o.per_request - found;
  }
  uint64_t final_rss = bench::ProcessRssBytes(o.pid);
  std::printf(
      "%s\n",
      JsonObject()
          .Add("attempted_series", std::min(o.series, batches * o.per_request))
          .Add("series_per_request", o.per_request)
          .Add("acknowledged_series",
               static_cast<uint64_t>(acknowledged.size()) * o.per_request)
          .Add("write_seconds", write_seconds)
          .Add("sent_bytes", sent_bytes.load())
          .AddRaw("write_status", write_status.Json())
          .Add("write_retries", retries.load())
          .AddRaw("query_status", query_status.Json())
          .Add("metrics_probes", metrics_probe.probes)
          .Add("metrics_failures", metrics_probe.failures)
          .Add("metrics_max_latency_s", metrics_probe.max_latency_s)
          .Add("lookup_probes", lookup_probe.probes)
          .Add("lookup_failures", lookup_probe.failures)
          .Add("lookup_max_latency_s", lookup_probe.max_latency_s)
          .Add("peak_rss_bytes", peak_rss)
          .Add("rss_at_first_refusal_bytes", rss_at_first_refusal)
          .Add("peak_rss_after_refusal_bytes", peak_rss_after_refusal)
          .Add("final_rss_bytes", final_rss)
          .Add("verify_failures", verify_failures)
          .Add("lost_samples", lost)
          .str()
          .c_str());
  return lost == 0 && metrics_probe.failures == 0 && lookup_probe.failures == 0
             ? 0
             : 1;
}

CommandRun SetUpFlood(CLI::App& app) {
  auto flags = std::make_shared<FloodFlags>();
  Options& o = flags->options;
  app.add_option("--url", flags->url,
                 "the keel serve to flood: http://127.0.0.1:PORT")
      ->required();
  app.add_option("--pid", o.pid, "its process id, whose RSS is read")
      ->required()
      ->check(CLI::PositiveNumber);
  app.add_option("--series", o.series, "new series to write")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--series-per-request", o.per_request,
                 "series a remote-write request")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000}));
  app.add_option("--writers", o.writers, "writer threads")
      ->check(CLI::Range(1, 64));
  app.add_option("--queriers", o.queriers, "query threads")
      ->check(CLI::Range(0, 64));
  app.add_option("--seconds", o.seconds, "stop writing after this long")
      ->check(CLI::Range(1.0, 3600.0));
  app.footer(
      "Prints one JSON object; exit 1 when acknowledged samples were lost\n"
      "or a probe failed.");
  return [flags] { return RunFlood(*flags); };
}

}  // namespace

KEEL_COMMAND("bench flood",
             "write and query flood against a running keel serve: RSS, "
             "probes, acknowledged samples lost (JSON)",
             SetUpFlood);

}  // namespace keel::tools
