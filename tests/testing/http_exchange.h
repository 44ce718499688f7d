// Plain HTTP/1.1 over loopback for the server tests: one request on a fresh
// connection, read until the server closes it.
//
//   HttpReply r = HttpExchange(port, HttpRequestText("GET", "/-/healthy"));
//   REQUIRE(r.status == 200);
//
// No Catch macros inside, so that threads other than the test's may call
// them (Catch's assertion state is not thread-safe).
#ifndef KEEL_TESTS_TESTING_HTTP_EXCHANGE_H_
#define KEEL_TESTS_TESTING_HTTP_EXCHANGE_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <utility>

namespace keel::testing {

struct HttpReply {
  int status = 0;    // 0: no answer came
  std::string head;  // the status line and headers
  std::string body;  // a chunked body decoded
  // A chunked body that ended before its last chunk.
  bool cut = false;
};

// The body of chunked transfer coding `wire` (no extensions or trailers:
// keel sends none); false when it ends before the last chunk.
inline bool DecodeChunked(const std::string& wire, std::string* body) {
  body->clear();
  for (size_t at = 0;;) {
    size_t line = wire.find("\r\n", at);
    if (line == std::string::npos) return false;
    size_t size = 0;
    auto r = std::from_chars(wire.data() + at, wire.data() + line, size, 16);
    if (r.ec != std::errc() || r.ptr != wire.data() + line) return false;
    if (size == 0) return true;
    if (wire.size() < line + 2 + size + 2) return false;
    body->append(wire, line + 2, size);
    at = line + 2 + size + 2;
  }
}

// A TCP connection to 127.0.0.1:port, or -1.
inline int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A request with Host and "Connection: close", then `headers` (each line
// ending in "\r\n"), Content-Length (the body's own when `content_length`
// < 0) and the body.
inline std::string HttpRequestText(const std::string& method,
                                   const std::string& target,
                                   const std::string& body = "",
                                   const std::string& headers = "",
                                   long long content_length = -1) {
  return method + " " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers +
         "Content-Length: " +
         std::to_string(content_length < 0 ? static_cast<long long>(body.size())
                                           : content_length) +
         "\r\n\r\n" + body;
}

// Sends `request` as it is on a fresh connection and reads the answer.
inline HttpReply HttpExchange(int port, const std::string& request) {
  HttpReply reply;
  int fd = ConnectLoopback(port);
  if (fd < 0) return reply;
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close early
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) {
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t end = response.find("\r\n\r\n");
  if (response.size() < 12 || end == std::string::npos) return reply;
  reply.status = std::stoi(response.substr(9, 3));
  reply.head = response.substr(0, end);
  reply.body = response.substr(end + 4);
  if (reply.head.find("\r\nTransfer-Encoding: chunked") != std::string::npos) {
    std::string wire = std::move(reply.body);
    reply.cut = !DecodeChunked(wire, &reply.body);
  }
  return reply;
}

}  // namespace keel::testing

#endif  // KEEL_TESTS_TESTING_HTTP_EXCHANGE_H_
