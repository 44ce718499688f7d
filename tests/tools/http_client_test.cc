#include "tools/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"

namespace keel::tools {
namespace {

// A loopback server for one connection that reads one request per canned
// answer and sends the answer in the given pieces, one write each, so that
// chunk headers and bodies arrive split across reads.
using Answer = std::vector<std::string>;  // sent piece by piece

class CannedServer {
 public:
  explicit CannedServer(std::vector<Answer> answers) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(listen_fd_, 1);
    thread_ = std::thread([this, answers = std::move(answers)] {
      int fd = accept(listen_fd_, nullptr, nullptr);
      // One connection only: a client that reconnects is refused at once.
      close(listen_fd_);
      for (const auto& pieces : answers) {
        std::string request;
        char buffer[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
          if (n <= 0) break;
          request.append(buffer, static_cast<size_t>(n));
        }
        for (const std::string& piece : pieces) {
          send(fd, piece.data(), piece.size(), MSG_NOSIGNAL);
          usleep(2000);  // let the client read each piece on its own
        }
      }
      close(fd);
    });
  }
  ~CannedServer() { thread_.join(); }
  std::string port() const { return std::to_string(port_); }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

constexpr char kChunkedHead[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

TEST_CASE("chunked answers are decoded, split anywhere, on a kept connection") {
  CannedServer server(std::vector<Answer>{
      Answer{kChunkedHead, "5\r\nhel", "lo\r\n", "6;ext=1\r\n, worl\r\n",
             "1\r\nd\r\n0\r\n", "Trailer: x\r\n\r\n"},
      Answer{"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"},
  });
  HttpClient client("127.0.0.1", server.port());
  absl::StatusOr<HttpAnswer> chunked = client.Send("GET", "/a");
  REQUIRE(chunked.ok());
  CHECK(chunked->status == 200);
  CHECK(chunked->body == "hello, world");
  // The same connection carries the next answer: the chunked one was read
  // to its end, trailers included.
  absl::StatusOr<HttpAnswer> next = client.Send("GET", "/b");
  REQUIRE(next.ok());
  CHECK(next->body == "next");
}

TEST_CASE("malformed or oversized chunked answers are errors") {
  SECTION("a size that is not hex") {
    CannedServer server({Answer{kChunkedHead, "zz\r\nabc\r\n0\r\n\r\n"}});
    HttpClient client("127.0.0.1", server.port());
    absl::StatusOr<HttpAnswer> a = client.Send("GET", "/");
    REQUIRE_FALSE(a.ok());
    CHECK(std::string(a.status().message()).find("bad chunk size") !=
          std::string::npos);
  }
  SECTION("a chunk without its CRLF") {
    CannedServer server({Answer{kChunkedHead, "3\r\nabcX\r\n0\r\n\r\n"}});
    HttpClient client("127.0.0.1", server.port());
    CHECK_FALSE(client.Send("GET", "/").ok());
  }
  SECTION("cut before the last chunk") {
    CannedServer server({Answer{kChunkedHead, "3\r\nabc\r\n"}});
    HttpClient client("127.0.0.1", server.port());
    absl::StatusOr<HttpAnswer> a = client.Send("GET", "/");
    REQUIRE_FALSE(a.ok());
    CHECK(absl::IsUnavailable(a.status()));
  }
  SECTION("over max_answer_bytes") {
    CannedServer server(
        {Answer{kChunkedHead, "10\r\n0123456789abcdef\r\n0\r\n\r\n"}});
    HttpClient client("127.0.0.1", server.port(), {.max_answer_bytes = 8});
    absl::StatusOr<HttpAnswer> a = client.Send("GET", "/");
    REQUIRE_FALSE(a.ok());
    CHECK(absl::IsResourceExhausted(a.status()));
  }
}

}  // namespace
}  // namespace keel::tools
