// HeapProfileApi: heap profiles of a running keel serve, on demand, from
// jemalloc's sampling profiler, read with jeprof (docs/heap_profiles.md).
//
//   GET /debug/pprof/heap?seconds=N   (N from 0 to 300; 30 when absent)
//     resets the profile, samples allocations for N seconds, then answers
//     jemalloc's dump (application/octet-stream): what was allocated in the
//     window and is still live (jeprof's default, inuse space) and, with
//     prof_accum, everything allocated in it (jeprof --alloc_space).
//     seconds=0 dumps what has been sampled so far without a window: every
//     live sampled allocation when sampling has run since the start
//     (MALLOC_CONF prof_active:true), else what the last window left.
//     400 for a bad `seconds`, 404 when the process runs without profiling
//     (the message says how to start it), 409 while another profile is
//     being taken, 503 once the server is stopping.
//
// jemalloc's profiling cannot be switched on once it has initialised, so a
// process must start with `prof:true` in MALLOC_CONF: `keel serve
// --heap-profiling` re-runs itself with MallocConfForHeapProfiling's value
// when CurrentHeapProfiling() says kOff. Sampling stays inactive
// (prof_active:false) except during a window.
//
//   auto profiles = std::make_shared<HeapProfileApi>();
//   profiles->Register(&http_server);   // needs the server's token
//   metrics.Add(profiles);              // keel_heap_profiles_total
//   ...
//   profiles->Cancel();                 // before http_server.Stop()
//
// A window holds one HTTP worker thread for its N seconds; it ends early
// when the client goes away or Cancel is called, and then dumps nothing.
//
// Thread safety: every method may be called from any thread; one profile
// is taken at a time.
#ifndef KEEL_TOOLS_SERVER_HEAP_PROFILE_API_H_
#define KEEL_TOOLS_SERVER_HEAP_PROFILE_API_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "tools/server/http_server.h"

namespace keel::tools {

enum class HeapProfiling {
  kUnsupported,  // this jemalloc was built without profiling
  kOff,          // the process started without `prof:true`
  kReady,        // profiles can be taken
};

// What jemalloc's "opt.prof" says about this process.
HeapProfiling CurrentHeapProfiling();

// The jemalloc options keel starts a profiling process with: profiling
// ready but inactive, and cumulative counts kept for --alloc_space.
inline constexpr char kHeapProfilingMallocConf[] =
    "prof:true,prof_active:false,prof_accum:true";

// MALLOC_CONF for a process that should start ready to profile: keel's
// options first, then `current` (the environment's value, "" when unset),
// whose options win where both set one (jemalloc takes the last).
std::string MallocConfForHeapProfiling(const std::string& current);

class HeapProfileApi : public prometheus::Collectable {
 public:
  static constexpr int kMaxSeconds = 300;
  static constexpr int kDefaultSeconds = 30;
  // A dump longer than this is refused (500) rather than read into memory.
  static constexpr int64_t kMaxDumpBytes = int64_t{1} << 30;

  HeapProfileApi() = default;
  HeapProfileApi(const HeapProfileApi&) = delete;
  HeapProfileApi& operator=(const HeapProfileApi&) = delete;

  // REQUIRES: before server->Start (or its ServeAllRoutes). The route
  // needs the server's token, if it has one.
  void Register(HttpServer* server);

  // The handler of GET /debug/pprof/heap (see above). The dump is written
  // to a private directory under $TMPDIR (or /tmp), read and removed.
  HttpResponse Take(const HttpRequest& request);

  // Ends a running window (its request answers 503) and refuses later
  // requests, so that stopping the server does not wait for a window.
  void Cancel();

  // keel_heap_profiles_total: profiles answered (200).
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  // Samples for `seconds` from a reset profile, then sets prof.active back.
  // Unavailable when the window was cut short (client gone, Cancel).
  absl::Status SampleWindow(const HttpRequest& request, int seconds);

  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through it.
  std::mutex mu_;
  std::condition_variable cancel_cv_;  // notified when cancelled_ is set
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> profiles_{0};
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_HEAP_PROFILE_API_H_
