// HttpClient: HTTP/1.1 requests to one server over one keep-alive
// connection, for `keel query --url` and `keel bench flood` (plain HTTP, no
// TLS). An answer is framed by its Content-Length or chunked transfer
// coding (trailers ignored); without either it runs until the server closes
// (none for 1xx, 204 and 304). A connection the server closed between two
// requests (a stale keep-alive) is reopened once, and the request sent again.
//
//   auto address = ParseHttpUrl("http://127.0.0.1:9464");
//   HttpClient client(address->host, address->port);
//   absl::StatusOr<HttpAnswer> a = client.Send("GET",
//   "/api/v1/query?query=up");
//
// Thread safety: none; one client per thread.
#ifndef KEEL_TOOLS_HTTP_CLIENT_H_
#define KEEL_TOOLS_HTTP_CLIENT_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::tools {

struct HttpAddress {
  std::string host;  // a name or an address, IPv6 without its brackets
  std::string port;  // "80" when the URL names none
};

// The host and port of "http://HOST[:PORT][/...]". Errors: InvalidArgument
// for any other scheme.
absl::StatusOr<HttpAddress> ParseHttpUrl(std::string_view url);

struct HttpAnswer {
  int status = 0;
  std::string body;
  int retry_after_s = 0;  // its Retry-After in seconds, 0 when absent
};

struct HttpClientOptions {
  int timeout_s = 0;  // of each send and receive; 0 waits as long as it takes
  size_t max_answer_bytes = size_t{1} << 30;  // head and body
};

class HttpClient {
 public:
  HttpClient(std::string host, std::string port,
             HttpClientOptions options = {});
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();

  // Sends one request: Host, `headers` (each line ending in "\r\n"),
  // Content-Length and the body.
  // Errors: Unavailable when no connection or no whole answer came,
  // ResourceExhausted past max_answer_bytes (for the whole answer, or a
  // chunked body), DataLoss for malformed chunked framing.
  absl::StatusOr<HttpAnswer> Send(std::string_view method,
                                  std::string_view target,
                                  std::string_view headers = {},
                                  std::string_view body = {});

 private:
  absl::Status Connect();
  void Close();
  bool WriteAll(std::string_view data);
  // Appends what the connection has next to buffer_; false at its end.
  bool Fill();
  absl::StatusOr<HttpAnswer> ReadAnswer(std::string_view method);
  // Reads a chunked body from the start of buffer_ into `body`.
  absl::Status ReadChunkedBody(std::string* body);

  const std::string host_, port_;
  const HttpClientOptions options_;
  int fd_ = -1;
  std::string buffer_;  // received, not yet consumed
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_HTTP_CLIENT_H_
