// keel bench forward (--url http://127.0.0.1:PORT/api/v1/write | --sink)
//   [--series N] [--samples-per-series K] [--shards S]
//   [--max-samples-per-send M]
//
// How fast keel forwards its queue to a remote-write backend (issue 19),
// and the CPU keel spends per forwarded sample; prints one JSON object.
// bench/forward_bench.sh runs it against a local VictoriaMetrics. With
// --sink the backend is a child process that reads each request and
// answers 204 at once, decoding nothing: what keel alone sustains; its CPU
// is reported apart (sink_cpu_seconds in each phase).
//
// Three phases, one after the other, on the same N x K samples (N series,
// K samples each at 1 s steps ending now, written as K records of N series
// as K remote writes would be):
//   queue:    the records appended to a fresh ForwardQueue (group commit,
//             one writer: an fdatasync per record);
//   baseline: the same samples as prebuilt snappy WriteRequests of M
//             samples, posted by S threads straight to the backend: what
//             the backend and HTTP allow, with nothing of keel's queue;
//   forward:  a RemoteWriteSender with S shards drains the queue into the
//             backend (series named apart from the baseline's).
// Each phase reports samples/s and this process's CPU seconds (user +
// system, getrusage) per sample; forward_vs_baseline is the rate ratio.
#include <netinet/in.h>
#include <signal.h>
#include <snappy.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "alloc/arena.h"
#include "remote_write.pb.h"
#include "tools/command.h"
#include "tools/http_client.h"
#include "tools/json.h"
#include "tools/server/forward/forward_queue.h"
#include "tools/server/forward/remote_write_sender.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "bench forward";

struct ForwardFlags {
  std::string url;
  bool sink = false;
  uint64_t series = 10'000;
  uint64_t samples_per_series = 100;
  uint32_t shards = 4;
  uint32_t max_samples_per_send = 10000;  // keel serve's default
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The user + system CPU seconds of another process, from /proc (0 when
// unreadable).
double ProcessCpuSeconds(pid_t pid) {
  std::FILE* f = std::fopen(absl::StrCat("/proc/", pid, "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char line[1024];
  const bool read = std::fgets(line, sizeof(line), f) != nullptr;
  std::fclose(f);
  if (!read) return 0;
  // The fields after the command name, which is in parentheses: utime and
  // stime are the 14th and 15th of the whole line.
  const char* after = std::strrchr(line, ')');
  if (after == nullptr) return 0;
  unsigned long user = 0, system = 0;  // NOLINT: as scanf writes them
  if (std::sscanf(after + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user,
                  &system) != 2) {
    return 0;
  }
  return static_cast<double>(user + system) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// One sink connection: each request read whole (head, then Content-Length
// bytes), answered 204.
void ServeSinkConnection(int fd) {
  std::string buffer;
  char chunk[64 << 10];
  constexpr std::string_view kAnswer = "HTTP/1.1 204 No Content\r\n\r\n";
  while (true) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        close(fd);
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    const std::string head = absl::AsciiStrToLower(buffer.substr(0, head_end));
    size_t length = 0;
    if (size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
      const size_t from = at + 17;
      (void)absl::SimpleAtoi(
          absl::StripAsciiWhitespace(absl::string_view(head).substr(
              from, head.find("\r\n", from) - from)),
          &length);
    }
    const size_t whole = head_end + 4 + length;
    while (buffer.size() < whole) {
      const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        close(fd);
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    buffer.erase(0, whole);
    if (send(fd, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(kAnswer.size())) {
      close(fd);
      return;
    }
  }
}

struct Sink {
  pid_t pid = -1;
  int port = 0;
};

// Starts the sink in a child process listening on a free loopback port.
// Call it before this process starts a thread (the child forks a copy).
absl::StatusOr<Sink> StartSink() {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  if (listener < 0 ||
      bind(listener, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      listen(listener, 64) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) !=
          0) {
    return absl::InternalError(
        absl::StrCat("sink: cannot listen: ", std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(
        absl::StrCat("sink: fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    while (true) {
      const int fd = accept(listener, nullptr, nullptr);
      if (fd < 0 && errno == EINTR) continue;
      if (fd < 0) _exit(1);
      std::thread(ServeSinkConnection, fd).detach();
    }
  }
  close(listener);
  return Sink{pid, ntohs(address.sin_port)};
}

// The record of sample k of every series, named by `job`.
ForwardRecord Record(const ForwardFlags& f, std::string_view job, uint64_t k,
                     int64_t t) {
  ForwardRecord record;
  for (uint64_t i = 0; i < f.series; ++i) {
    record.BeginSeries();
    record.AddLabel("__name__", "keel_forward_bench");
    record.AddLabel("instance", absl::StrCat("host-", i % 100));
    record.AddLabel("job", job);
    record.AddLabel("series", absl::StrCat(i));
    record.AddSample(t, static_cast<double>(k * 7 + i));
    record.EndSeries();
  }
  return record;
}

// A phase's figures; the sink's CPU too when there is one (sink_cpu >= 0).
JsonObject Phase(double seconds, double cpu, uint64_t samples,
                 double sink_cpu = -1) {
  JsonObject o;
  o.Add("seconds", seconds)
      .Add("samples_per_second", static_cast<double>(samples) / seconds)
      .Add("cpu_seconds", cpu)
      .Add("cpu_ns_per_sample", cpu * 1e9 / static_cast<double>(samples));
  if (sink_cpu >= 0) o.Add("sink_cpu_seconds", sink_cpu);
  return o;
}

int RunForward(ForwardFlags f) {
  if (f.sink == !f.url.empty()) {
    return UsageError(
        kName, absl::InvalidArgumentError("give either --url or --sink"));
  }
  Sink sink;
  if (f.sink) {
    auto started = StartSink();
    if (!started.ok()) return Fail(kName, started.status(), 1);
    sink = *started;
    f.url = absl::StrCat("http://127.0.0.1:", sink.port, "/api/v1/write");
  }
  struct StopSink {
    pid_t pid;
    ~StopSink() {
      if (pid <= 0) return;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } stop_sink{sink.pid};
  // The sink's CPU seconds so far (-1 without a sink).
  auto sink_cpu = [&] { return f.sink ? ProcessCpuSeconds(sink.pid) : -1.0; };
  auto address = ParseHttpUrl(f.url);
  if (!address.ok()) return UsageError(kName, address.status());
  const size_t path = f.url.find('/', std::string_view("http://").size());
  const std::string target =
      path == std::string::npos ? "/" : f.url.substr(path);
  const uint64_t total = f.series * f.samples_per_series;
  const int64_t first_t = absl::ToUnixMillis(absl::Now()) -
                          static_cast<int64_t>(f.samples_per_series) * 1000;
  char dir_template[] = "/tmp/keel_forward_bench_XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    return Fail(kName, absl::InternalError("mkdtemp failed"), 1);
  }
  const std::string dir = dir_template;
  alloc::Arena arena("remote_write");

  // Baseline: prebuilt requests straight to the backend.
  std::vector<std::string> bodies;
  {
    prompb::WriteRequest request;
    auto flush = [&] {
      if (request.timeseries_size() == 0) return;
      std::string raw = request.SerializeAsString(), compressed;
      snappy::Compress(raw.data(), raw.size(), &compressed);
      bodies.push_back(std::move(compressed));
      request.Clear();
    };
    for (uint64_t k = 0; k < f.samples_per_series; ++k) {
      for (uint64_t i = 0; i < f.series; ++i) {
        prompb::TimeSeries* ts = request.add_timeseries();
        auto label = [&](std::string name, std::string value) {
          prompb::Label* l = ts->add_labels();
          l->set_name(std::move(name));
          l->set_value(std::move(value));
        };
        label("__name__", "keel_forward_bench");
        label("instance", absl::StrCat("host-", i % 100));
        label("job", "baseline");
        label("series", absl::StrCat(i));
        prompb::Sample* s = ts->add_samples();
        s->set_timestamp(first_t + static_cast<int64_t>(k) * 1000);
        s->set_value(static_cast<double>(k * 7 + i));
        if (static_cast<uint64_t>(request.timeseries_size()) >=
            f.max_samples_per_send) {
          flush();
        }
      }
    }
    flush();
  }
  const std::string headers =
      "Content-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\n"
      "X-Prometheus-Remote-Write-Version: 0.1.0\r\n";
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> refused{0};
  double cpu = CpuSeconds();
  double sink_start = sink_cpu();
  absl::Time start = absl::Now();
  {
    std::vector<std::thread> threads;
    for (uint32_t s = 0; s < f.shards; ++s) {
      threads.emplace_back([&] {
        HttpClient client(address->host, address->port, {.timeout_s = 60});
        for (size_t i; (i = next.fetch_add(1)) < bodies.size();) {
          auto answer = client.Send("POST", target, headers, bodies[i]);
          if (!answer.ok() || answer->status / 100 != 2) refused.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  JsonObject baseline =
      Phase(absl::ToDoubleSeconds(absl::Now() - start), CpuSeconds() - cpu,
            total, f.sink ? sink_cpu() - sink_start : -1);
  bodies.clear();
  bodies.shrink_to_fit();
  if (refused.load() > 0) {
    return Fail(
        kName,
        absl::UnavailableError(absl::StrCat(
            refused.load(), " baseline requests were refused by ", f.url)),
        1);
  }

  // Queue: the same samples as K records.
  auto queue = ForwardQueue::Open({.dir = dir + "/q"}, &arena);
  if (!queue.ok()) return Fail(kName, queue.status(), 1);
  RemoteWriteDestination d;
  d.url = f.url;
  d.name = "bench";
  d.shards = f.shards;
  d.max_samples_per_send = f.max_samples_per_send;
  d.batch_send_deadline_ms = 100;
  d.max_backoff_ms = 1000;
  std::vector<ForwardRecord> records;
  for (uint64_t k = 0; k < f.samples_per_series; ++k) {
    records.push_back(
        Record(f, "forward", k, first_t + static_cast<int64_t>(k) * 1000));
  }
  uint64_t queue_bytes = 0;
  cpu = CpuSeconds();
  start = absl::Now();
  for (const ForwardRecord& r : records) {
    if (absl::Status s = (*queue)->Append(r); !s.ok()) {
      return Fail(kName, s, 1);
    }
    queue_bytes += r.bytes().size();
  }
  JsonObject append = Phase(absl::ToDoubleSeconds(absl::Now() - start),
                            CpuSeconds() - cpu, total);
  records.clear();

  // Forward: drain the queue. The cursors start at the queue's start.
  {
    std::FILE* cursors = std::fopen((dir + "/q/bench.cursors").c_str(), "w");
    if (cursors != nullptr) std::fclose(cursors);  // empty: from the start
  }
  cpu = CpuSeconds();
  sink_start = sink_cpu();
  start = absl::Now();
  auto sender = RemoteWriteSender::Start(d, queue->get());
  if (!sender.ok()) return Fail(kName, sender.status(), 1);
  while ((*sender)->sent_samples() + (*sender)->failed_samples() < total) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  JsonObject forward =
      Phase(absl::ToDoubleSeconds(absl::Now() - start), CpuSeconds() - cpu,
            total, f.sink ? sink_cpu() - sink_start : -1);
  const uint64_t failed = (*sender)->failed_samples();
  const uint64_t sent_bytes = (*sender)->sent_bytes();
  (*sender)->Stop();
  sender->reset();
  queue->reset();
  std::filesystem::remove_all(dir);

  JsonObject out;
  out.Add("series", f.series)
      .Add("samples", total)
      .Add("shards", f.shards)
      .Add("max_samples_per_send", f.max_samples_per_send)
      .Add("sink", f.sink)
      .Add("queue_record_bytes", queue_bytes)
      .Add("sent_compressed_bytes", sent_bytes)
      .Add("failed_samples", failed)
      .AddRaw("queue_append", append.str())
      .AddRaw("baseline", baseline.str())
      .AddRaw("forward", forward.str());
  std::printf("%s\n", out.str().c_str());
  return failed == 0 ? 0 : 1;
}

CommandRun SetUpForward(CLI::App& app) {
  auto f = std::make_shared<ForwardFlags>();
  app.add_option("--url", f->url,
                 "the backend's remote-write URL, e.g. "
                 "http://127.0.0.1:8428/api/v1/write");
  app.add_flag("--sink", f->sink,
               "instead of --url: a child process that answers every "
               "request 204 at once (what keel alone sustains)");
  app.add_option("--series", f->series, "series")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
  app.add_option("--samples-per-series", f->samples_per_series,
                 "samples of each series (1 s apart, ending now)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000}));
  app.add_option("--shards", f->shards, "sender shards (and baseline threads)")
      ->check(CLI::Range(1, 64));
  app.add_option("--max-samples-per-send", f->max_samples_per_send,
                 "samples a request")
      ->check(CLI::Range(1, 1'000'000));
  app.footer(
      "Prints one JSON object (queue_append, baseline, forward: seconds,\n"
      "samples_per_second, cpu_seconds, cpu_ns_per_sample of this process;\n"
      "with --sink, sink_cpu_seconds of the sink).");
  return [f] { return RunForward(*f); };
}

}  // namespace

KEEL_COMMAND("bench forward",
             "forward a queue of samples to a remote-write backend: samples/s "
             "and CPU per sample against posting prebuilt requests (JSON)",
             SetUpForward);

}  // namespace keel::tools
