// HttpServer: one civetweb server with a small exact-path router, for
// `keel serve`. Handlers take a parsed request and return a whole response;
// the server reads bodies up to the route's limit and writes each answer in
// one call.
//
//   HttpServer server;
//   server.Route("GET", "/v1/lookup", [](const HttpRequest& r) {
//     return HttpResponse::Json(200, "{}");
//   });
//   absl::Status s = server.Start({.listen = "127.0.0.1:0"});
//   int port = server.port();
//
// An unknown path answers 404 and a known path with another method 405, both
// as JSON errors. Loopback is the default; any address civetweb takes
// ("host:port") is allowed.
//
// Thread safety: Route only before Start. Handlers run concurrently on
// civetweb's worker threads and must be thread-safe. Stop (or the
// destructor) waits for running handlers.
#ifndef KEEL_TOOLS_SERVER_HTTP_SERVER_H_
#define KEEL_TOOLS_SERVER_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"

struct mg_context;
struct mg_connection;

namespace keel::tools {

struct HttpRequest {
  std::string_view method;
  std::string_view path;
  // Query parameters, percent-decoded, in order (a name may repeat); for a
  // POST with an application/x-www-form-urlencoded body, its fields follow.
  std::vector<std::pair<std::string, std::string>> params;
  std::string body;
  const mg_connection* connection = nullptr;

  // The first value of a parameter, or nullptr.
  const std::string* param(std::string_view name) const;
  // A request header ("" when absent).
  std::string_view header(const char* name) const;
  // Whether the client has closed its connection (a long handler polls this
  // to stop work nobody will read).
  bool ClientGone() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;

  static HttpResponse Json(int status, std::string body);
  // {"error": reason}.
  static HttpResponse Error(int status, std::string_view reason);
  static HttpResponse Empty(int status);  // 204 and the like
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:9464";  // host:port; port 0 picks one
  // civetweb serves one connection per worker thread, so this bounds the
  // concurrent keep-alive clients.
  int threads = 128;
};

// Splits a query string (or form body) into percent-decoded pairs.
std::vector<std::pair<std::string, std::string>> ParseQueryString(
    std::string_view query);

class HttpServer {
 public:
  HttpServer() = default;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  // REQUIRES: before Start. A body longer than `max_body_bytes` is refused
  // with 400 before the handler runs.
  void Route(std::string method, std::string path, HttpHandler handler,
             size_t max_body_bytes = 64 << 10);

  absl::Status Start(const HttpServerOptions& options);
  // The port it listens on (useful with port 0); 0 before Start.
  int port() const { return port_; }
  void Stop();

 private:
  struct Endpoint {
    HttpHandler handler;
    size_t max_body_bytes;
  };
  static int OnRequest(mg_connection* connection);
  void Serve(mg_connection* connection);

  // path -> method -> endpoint
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, Endpoint>>
      routes_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_HTTP_SERVER_H_
