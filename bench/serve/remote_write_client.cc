#include "bench/serve/remote_write_client.h"

#include <snappy.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace keel::bench {

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

tools::HttpClient LoopbackClient(int port) {
  return tools::HttpClient("127.0.0.1", std::to_string(port),
                           {.timeout_s = 60});
}

tools::HttpAnswer SendRequest(tools::HttpClient& client,
                              std::string_view method, std::string_view target,
                              std::string_view headers, std::string_view body) {
  absl::StatusOr<tools::HttpAnswer> answer =
      client.Send(method, target, headers, body);
  return answer.ok() ? *std::move(answer) : tools::HttpAnswer{};
}

WriteOutcome PostRemoteWrite(tools::HttpClient& client,
                             std::string_view compressed_body) {
  WriteOutcome out;
  for (int attempt = 0; attempt < 30; ++attempt) {
    out.answer = SendRequest(client, "POST", "/api/v1/write",
                             "Content-Encoding: snappy\r\nContent-Type: "
                             "application/x-protobuf\r\n"
                             "X-Prometheus-Remote-Write-Version: 0.1.0\r\n",
                             compressed_body);
    const int status = out.answer.status;
    if (status != 429 && status != 503 && status != 0) break;
    ++out.retries;
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::clamp(out.answer.retry_after_s * 1000, 100, 5000)));
  }
  return out;
}

std::string SnappyCompress(std::string_view raw) {
  std::string compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  return compressed;
}

uint64_t ProcessRssBytes(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    uint64_t kib = 0;
    if (line.starts_with("VmRSS:") &&
        absl::SimpleAtoi(
            absl::StripAsciiWhitespace(
                absl::string_view(line).substr(6, line.size() - 9)),
            &kib)) {
      return kib << 10;
    }
  }
  return 0;
}

}  // namespace keel::bench
