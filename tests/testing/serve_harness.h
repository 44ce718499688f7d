// keel serve in-process for the server tests: a config over small tables, one
// shared server, a remote-write body, an HTTP request that must be answered,
// and a raw connection for what the server does on the wire.
//
//   int port = SharedPort();
//   HttpReply r = Http(port, "GET", "/v1/lookup?ip=1.0.0.1");
//
// Unlike http_exchange.h these use Catch's REQUIRE: call them from the
// test's own thread.
#ifndef KEEL_TESTS_TESTING_SERVE_HARNESS_H_
#define KEEL_TESTS_TESTING_SERVE_HARNESS_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <snappy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "remote_write.pb.h"
#include "tests/testing/http_exchange.h"
#include "tests/testing/temp_dir.h"
#include "tools/server/serve_app.h"
#include "tools/server/serve_config.h"

namespace keel::testing {

// One HTTP/1.1 request on a fresh connection; `content_length` < 0 sends
// the body's own length.
inline HttpReply Http(int port, const std::string& method,
                      const std::string& target, const std::string& body = "",
                      const std::string& headers = "",
                      long long content_length = -1) {
  HttpReply reply = HttpExchange(
      port, HttpRequestText(method, target, body, headers, content_length));
  REQUIRE(reply.status != 0);
  return reply;
}

// A raw client connection, for what the server does on the wire.
class Conn {
 public:
  explicit Conn(int port, int family = AF_INET) {
    fd_ = socket(family, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int rc;
    if (family == AF_INET6) {
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_port = htons(static_cast<uint16_t>(port));
      addr.sin6_addr = in6addr_loopback;
      rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    }
    REQUIRE(rc == 0);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { close(fd_); }

  // False once the server has closed (it may close before all is sent).
  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(data.size());
  }
  // Whether the server has answered or closed (something to read).
  bool Readable(int wait_ms = 0) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    return poll(&p, 1, wait_ms) > 0;
  }
  // What arrives until the server closes, or `seconds` pass (then "closed"
  // stays false).
  std::string ReadToClose(double seconds = 10) {
    std::string out;
    auto end = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int>(seconds * 1000));
    closed = false;
    char buf[65536];
    while (std::chrono::steady_clock::now() < end) {
      if (!Readable(50)) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {  // end of stream, or a reset after unread input
        closed = true;
        break;
      }
      out.append(buf, n);
    }
    return out;
  }
  // One whole answer on a kept-alive connection: headers, then the body of
  // its Content-Length.
  std::string ReadAnswer(double seconds = 10) {
    std::string out;
    auto end = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int>(seconds * 1000));
    char c;
    while (std::chrono::steady_clock::now() < end &&
           out.find("\r\n\r\n") == std::string::npos) {
      if (Readable(50) && recv(fd_, &c, 1, 0) == 1) out.push_back(c);
    }
    size_t at = out.find("Content-Length: ");
    size_t length =
        at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
    size_t want = out.size() + length;
    while (std::chrono::steady_clock::now() < end && out.size() < want) {
      if (Readable(50) && recv(fd_, &c, 1, 0) == 1) out.push_back(c);
    }
    return out;
  }
  bool closed = false;

 private:
  int fd_ = -1;
};

inline int StatusOf(const std::string& answer) {
  return answer.size() > 12 && answer.starts_with("HTTP/1.1 ")
             ? std::stoi(answer.substr(9, 3))
             : 0;
}

inline tools::ServeConfig TestConfig(const TempDir& dir) {
  tools::ServeConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 8;
  config.ip2asn = {
      dir.Write("v4.tsv",
                "1.0.0.0\t1.0.0.255\t13335\tAU\tCloudflare, Inc.\n"
                "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
                "1.0.4.0\t1.0.7.255\t38803\tAU\tGTelecom \"Pty\" Ltd\n"),
      dir.Write("v6.tsv",
                "2001:4860::\t2001:4860:ffff:ffff:ffff:ffff:ffff:ffff\t15169\t"
                "US\tGoogle LLC\n")};
  config.pfx2as = dir.Write("pfx2as.dat",
                            "; comment\n"
                            "1.0.0.0/16\t100\n"
                            "1.0.0.0/24\t13335\n"
                            "1.0.4.0/22\t38803\n"
                            "2001:4860::/32\t15169\n");
  config.data_dir = dir.path() + "/data";
  config.snapshot_interval_ms = 3600 * 1000;
  return config;
}

inline std::string RemoteWriteBody(const std::string& name, int64_t t0,
                                   int count, const std::string& job = "test") {
  tools::prompb::WriteRequest request;
  auto* series = request.add_timeseries();
  for (auto [n, v] :
       {std::pair<std::string, std::string>{"__name__", name}, {"job", job}}) {
    auto* label = series->add_labels();
    label->set_name(n);
    label->set_value(v);
  }
  for (int i = 0; i < count; ++i) {
    auto* sample = series->add_samples();
    sample->set_timestamp(t0 + i * 15000);
    sample->set_value(i + 0.5);
  }
  std::string raw = request.SerializeAsString(), compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  return compressed;
}

// One server for the cases that need no restart: stopping civetweb is
// slow. Destroyed at exit, before its directory.
inline int SharedPort() {
  static TempDir dir("serve_http");
  static std::unique_ptr<tools::ServeApp> app = [] {
    auto started = tools::ServeApp::Start(TestConfig(dir));
    REQUIRE(started.ok());
    return *std::move(started);
  }();
  REQUIRE(app->port() > 0);
  return app->port();
}

inline const std::string kSnappy = "Content-Encoding: snappy\r\n";
inline constexpr int64_t kT0 = 1700000000000;

}  // namespace keel::testing

#endif  // KEEL_TESTS_TESTING_SERVE_HARNESS_H_
