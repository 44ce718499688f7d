#include "tools/server/heap_profile_api.h"

#include <fcntl.h>
#include <jemalloc/jemalloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/io/errno_status.h"
#include "diagnostics/metric_builder.h"
#include "tools/server/event_log.h"

namespace keel::tools {
namespace {

// How often a window checks whether its client is still there.
constexpr absl::Duration kClientPoll = absl::Milliseconds(250);

absl::Status MallctlStatus(int error, const char* name) {
  return absl::ErrnoToStatus(error, absl::StrCat("mallctl ", name));
}

// Sets "prof.active"; `*was` receives the value it had.
absl::Status SetProfActive(bool active, bool* was) {
  size_t size = sizeof(*was);
  int error = mallctl("prof.active", was, &size, &active, sizeof(active));
  return error == 0 ? absl::OkStatus() : MallctlStatus(error, "prof.active");
}

// The whole file at `path`, refused past kMaxDumpBytes.
absl::StatusOr<std::string> ReadDump(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::ErrnoStatus(errno, path, "open");
  std::string data;
  absl::Status status;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    status = core::ErrnoStatus(errno, path, "fstat");
  } else if (st.st_size > HeapProfileApi::kMaxDumpBytes) {
    status = absl::ResourceExhaustedError(
        absl::StrCat(path, ": the dump has ", st.st_size, " bytes, more than ",
                     HeapProfileApi::kMaxDumpBytes, " this server sends"));
  } else {
    data.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = read(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = core::ErrnoStatus(errno, path, "read");
        break;
      }
      if (n == 0) break;  // jemalloc wrote it before we looked: not shorter
      done += static_cast<size_t>(n);
    }
    data.resize(done);
  }
  close(fd);
  if (!status.ok()) return status;
  return data;
}

// jemalloc's dump of the current profile, through a private directory
// under $TMPDIR (jemalloc writes a named file; a directory of our own keeps
// another user from choosing what that name points to).
absl::StatusOr<std::string> Dump() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                 "/keel-heap-XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return core::ErrnoStatus(errno, dir, "mkdtemp");
  }
  const std::string path = dir + "/heap.prof";
  const char* name = path.c_str();
  absl::StatusOr<std::string> dump;
  if (int error = mallctl("prof.dump", nullptr, nullptr, &name, sizeof(name));
      error != 0) {
    dump =
        absl::ErrnoToStatus(error, absl::StrCat("mallctl prof.dump to ", path));
  } else {
    dump = ReadDump(path);
  }
  unlink(path.c_str());
  rmdir(dir.c_str());
  return dump;
}

}  // namespace

HeapProfiling CurrentHeapProfiling() {
  bool prof = false;
  size_t size = sizeof(prof);
  if (mallctl("opt.prof", &prof, &size, nullptr, 0) != 0) {
    return HeapProfiling::kUnsupported;
  }
  return prof ? HeapProfiling::kReady : HeapProfiling::kOff;
}

std::string MallocConfForHeapProfiling(const std::string& current) {
  if (current.empty()) return std::string(kHeapProfilingMallocConf);
  return absl::StrCat(kHeapProfilingMallocConf, ",", current);
}

void HeapProfileApi::Register(HttpServer* server) {
  server->Route("GET", "/debug/pprof/heap",
                [this](const HttpRequest& r) { return Take(r); },
                {.needs_auth = true});
}

HttpResponse HeapProfileApi::Take(const HttpRequest& request) {
  int seconds = kDefaultSeconds;
  if (const std::string* given = request.Param("seconds")) {
    if (!absl::SimpleAtoi(*given, &seconds) || seconds < 0 ||
        seconds > kMaxSeconds) {
      return HttpResponse::Error(
          400, absl::StrCat("seconds: want a whole number from 0 to ",
                            kMaxSeconds, ", got \"", *given, "\""));
    }
  }
  switch (CurrentHeapProfiling()) {
    case HeapProfiling::kReady:
      break;
    case HeapProfiling::kOff:
      return HttpResponse::Error(
          404,
          "heap profiling is off: start keel serve with --heap-profiling "
          "(heap-profiling = true in its config file)");
    case HeapProfiling::kUnsupported:
      return HttpResponse::Error(
          404,
          "heap profiling is unavailable: this keel's jemalloc was built "
          "without profiling (config.prof)");
  }
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return HttpResponse::Error(503, "the server is stopping");
    if (busy_) {
      return HttpResponse::Error(409, "another heap profile is being taken");
    }
    busy_ = true;
  }
  absl::Status sampled =
      seconds == 0 ? absl::OkStatus() : SampleWindow(request, seconds);
  absl::StatusOr<std::string> dump =
      sampled.ok() ? Dump() : absl::StatusOr<std::string>(sampled);
  {
    std::lock_guard lock(mu_);
    busy_ = false;
  }
  if (!dump.ok()) {
    LogEvent(absl::StrCat("heap profile not taken: ", dump.status().message()));
    return HttpResponse::Error(absl::IsUnavailable(dump.status()) ? 503 : 500,
                               std::string(dump.status().message()));
  }
  profiles_.fetch_add(1, std::memory_order_relaxed);
  LogEvent(absl::StrCat("heap profile taken: ", seconds, " s window, ",
                        dump->size(), " bytes"));
  HttpResponse response;
  response.content_type = "application/octet-stream";
  response.body = *std::move(dump);
  response.headers = absl::StrCat(
      "Content-Disposition: attachment; filename=\"keel-heap-",
      absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()),
      ".prof\"\r\n");
  return response;
}

absl::Status HeapProfileApi::SampleWindow(const HttpRequest& request,
                                          int seconds) {
  // A window's profile holds the window's allocations only.
  if (int error = mallctl("prof.reset", nullptr, nullptr, nullptr, 0);
      error != 0) {
    return MallctlStatus(error, "prof.reset");
  }
  bool was_active = false;
  if (absl::Status s = SetProfActive(true, &was_active); !s.ok()) return s;
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  absl::Status outcome;
  while (absl::Now() < end) {
    bool cancelled;
    {
      std::unique_lock lock(mu_);
      cancelled = cancel_cv_.wait_for(
          lock,
          absl::ToChronoNanoseconds(std::min(end - absl::Now(), kClientPoll)),
          [this] { return cancelled_; });
    }
    if (cancelled) {
      outcome = absl::UnavailableError(
          "the server is stopping: the window was cut short");
      break;
    }
    if (request.ClientGone()) {
      outcome = absl::UnavailableError(
          "the client went away: the window was cut short");
      break;
    }
  }
  bool ignored;
  if (absl::Status s = SetProfActive(was_active, &ignored); !s.ok()) {
    return s;
  }
  return outcome;
}

void HeapProfileApi::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cancel_cv_.notify_all();
}

std::vector<prometheus::MetricFamily> HeapProfileApi::Collect() const {
  diagnostics::MetricBuilder b;
  b.Counter("keel_heap_profiles_total",
            "Heap profiles answered by GET /debug/pprof/heap.")
      .Add(static_cast<double>(profiles_.load(std::memory_order_relaxed)));
  return b.Take();
}

}  // namespace keel::tools
