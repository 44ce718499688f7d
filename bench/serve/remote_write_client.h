// The client side of the benchmarks that remote-write into a running server
// (keel serve or Prometheus): one keep-alive connection a writer thread,
// requests resent after 429/503 as Prometheus' queue manager does, and the
// server's RSS read from /proc.
//
//   HttpClient client = LoopbackClient(port);
//   WriteOutcome w = PostRemoteWrite(client, SnappyCompress(raw));
//   if (w.answer.status / 100 == 2) ...;   // w.retries resends before it
//   uint64_t rss = ProcessRssBytes(pid);
//
// Thread safety: the functions are; an HttpClient is one thread's.
#ifndef KEEL_BENCH_SERVE_REMOTE_WRITE_CLIENT_H_
#define KEEL_BENCH_SERVE_REMOTE_WRITE_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/http_client.h"

namespace keel::bench {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start);
// Wall-clock milliseconds since the Unix epoch (sample timestamps).
int64_t UnixMillis();

// A keep-alive connection to 127.0.0.1:port, 60 s for each send and receive.
tools::HttpClient LoopbackClient(int port);

// Sends one request; status 0 when no answer came.
tools::HttpAnswer SendRequest(tools::HttpClient& client,
                              std::string_view method, std::string_view target,
                              std::string_view headers = {},
                              std::string_view body = {});

struct WriteOutcome {
  tools::HttpAnswer answer;  // the last answer (status 0: none came)
  int retries = 0;           // resends after 429, 503 or no answer
};

// POSTs a snappy-compressed WriteRequest to /api/v1/write with the headers
// remote-write 1.0 requires, resending after 429, 503 or no answer (after
// Retry-After, between 0.1 and 5 s) up to 30 times.
WriteOutcome PostRemoteWrite(tools::HttpClient& client,
                             std::string_view compressed_body);

// `raw` in snappy's block format, as remote-write bodies are.
std::string SnappyCompress(std::string_view raw);

// VmRSS of process `pid` in bytes (0 when unreadable: the process is gone).
uint64_t ProcessRssBytes(int pid);

}  // namespace keel::bench

#endif  // KEEL_BENCH_SERVE_REMOTE_WRITE_CLIENT_H_
