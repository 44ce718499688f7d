// HttpServer: one civetweb server with a small exact-path router, for
// `keel serve`. A path may hold one `{}` segment, which matches any
// non-empty segment (`/api/v1/label/{}/values`); the handler reads it from
// HttpRequest::path. Handlers take a parsed request and return a whole
// response; the server reads bodies up to the route's limit and writes each
// answer in one call, or, for a response made with HttpResponse::Streamed,
// as its producer writes it (http_body_stream.h).
//
//   HttpServer server;
//   server.Route("GET", "/v1/lookup", [](const HttpRequest& r) {
//     return HttpResponse::Json(200, "{}");
//   });
//   server.Route("POST", "/api/v1/write", Write,
//                {.max_body_bytes = 8 << 20, .kind = RequestKind::kWrite,
//                 .needs_auth = true});
//   absl::Status s = server.Start({.listen = "127.0.0.1:0"});
//   int port = server.port();
//
// What the server enforces before a handler runs, each answered as a JSON
// error:
// - an unknown path answers 404, a known path with another method 405 (with
//   Allow); HEAD runs the GET handler and sends its headers only; OPTIONS
//   answers 204 with Allow (`OPTIONS *` too);
// - request framing (RFC 9112 6.3): Content-Length values that disagree, or
//   Content-Length with Transfer-Encoding, answer 400 and close;
// - a route that needs auth, when the server has a token, wants
//   `Authorization: Bearer <token>`, else 401 with WWW-Authenticate;
// - a write or query beyond its kind's concurrency limit answers 503 with
//   Retry-After, before its body is read;
// - the headers must arrive within read_timeout_ms (civetweb polls them) and
//   the body within read_timeout_ms of its headers, else the connection is
//   dropped (408 when an answer can still be sent); an idle keep-alive
//   connection closes after idle_timeout_ms.
// A request whose absolute-form target names another port answers 421.
//
// A server may listen before all its routes exist (keel serve restoring a
// snapshot): started with `starting`, it serves the routes added before
// Start, and answers every other request 503 ("starting") until
// ServeAllRoutes; routes may be added in between.
//
// The worker threads allocate from one named arena, "http"
// (alloc/thread_arena.h): a request's memory shows under that name on
// /metrics and is returned to the kernel after the request, not kept free in
// jemalloc's automatic arenas.
//
// Every answer is counted in metrics() (keel_http_requests_total and
// keel_http_request_duration_seconds, see http_metrics.h), under the route's
// path pattern, or "other" for a path no route has (yet).
//
// Thread safety: Route only before Start, or before ServeAllRoutes when
// started with `starting`, from one thread. Handlers run concurrently on
// civetweb's worker threads and must be thread-safe; the counters may be
// read from any thread. Stop (or the destructor) waits for running
// handlers.
#ifndef KEEL_TOOLS_SERVER_HTTP_SERVER_H_
#define KEEL_TOOLS_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/server/http_body_stream.h"
#include "tools/server/http_metrics.h"

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
  const std::string* Param(std::string_view name) const;
  // A request header ("" when absent).
  std::string_view Header(const char* name) const;
  // Whether the client has closed (or half-closed) its connection: a long
  // handler polls this to stop work nobody will read. One poll(2) on the
  // connection's socket, found on the first call.
  // REQUIRES: called from one thread at a time, while the handler runs.
  bool ClientGone() const;

  // The connection's socket: -2 before it is looked up, -1 when not found.
  mutable int socket = -2;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string headers;  // more header lines, each "Name: value\r\n"
  // When set, the body is this producer's, sent as it is produced (see
  // http_body_stream.h), and `body` is unused.
  std::function<bool(HttpBodyStream&)> stream;

  static HttpResponse Json(int status, std::string body);
  // A body written piece by piece (http_body_stream.h).
  static HttpResponse Streamed(int status,
                               std::function<bool(HttpBodyStream&)> producer);
  // {"error": reason}.
  static HttpResponse Error(int status, std::string_view reason);
  static HttpResponse Empty(int status);  // 204 and the like
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// What a route's requests cost, for the per-kind concurrency limits.
enum class RequestKind { kOther, kWrite, kQuery };
inline constexpr int kRequestKinds = 3;
// "other", "write", "query": the `kind` label of the limit metric.
std::string_view RequestKindName(RequestKind kind);

struct RouteOptions {
  // A longer body is refused with 400 before the handler runs.
  size_t max_body_bytes = 64 << 10;
  RequestKind kind = RequestKind::kOther;
  // Whether the server's bearer token (when it has one) is required.
  bool needs_auth = false;
};

struct HttpServerOptions {
  // Passed to civetweb as it is: see ParseListenAddress (serve_config.h)
  // for the forms `keel serve` accepts. Port 0 picks one.
  std::string listen = "127.0.0.1:9464";
  // civetweb serves one connection per worker thread, so this bounds the
  // open connections being served; more wait in the accept queue.
  int threads = 512;
  int64_t read_timeout_ms = 30 * 1000;
  int64_t idle_timeout_ms = 5 * 1000;
  uint32_t max_concurrent_writes = 16;
  uint32_t max_concurrent_queries = 20;
  std::string auth_token;  // "" for none
  // Serve only the routes added before Start until ServeAllRoutes.
  bool starting = false;
};

// Splits a query string (or form body) into percent-decoded pairs.
std::vector<std::pair<std::string, std::string>> ParseQueryString(
    std::string_view query);

class HttpServer {
 public:
  HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  // Whether the civetweb linked in can listen on IPv6 addresses ("[::]:80");
  // Start refuses them, saying so, when it cannot.
  static bool SupportsIpv6();

  // REQUIRES: before Start (or ServeAllRoutes, see `starting`).
  void Route(std::string method, std::string path, HttpHandler handler,
             RouteOptions options = {});

  absl::Status Start(const HttpServerOptions& options);
  // The port it listens on (useful with port 0); 0 before Start.
  int port() const { return port_; }
  // Ends a `starting` start: every route answers from now on.
  void ServeAllRoutes();
  void Stop();

  // The request counts and latencies, for /metrics.
  const std::shared_ptr<HttpMetrics>& metrics() const { return metrics_; }

  // Requests answered 503 because their kind was at its limit.
  uint64_t LimitRejections(RequestKind kind) const {
    return kinds_[static_cast<int>(kind)].rejections.load(
        std::memory_order_relaxed);
  }
  // Bodies not received within the read timeout.
  uint64_t read_timeouts() const {
    return read_timeouts_.load(std::memory_order_relaxed);
  }
  // Requests answered 401.
  uint64_t unauthorized() const {
    return unauthorized_.load(std::memory_order_relaxed);
  }

 private:
  struct Endpoint {
    HttpHandler handler;
    RouteOptions options;
  };
  using Methods = absl::flat_hash_map<std::string, Endpoint>;
  struct Path {
    Methods methods;
    HttpMetrics::Handler* metrics = nullptr;
  };
  struct RouteTable {
    absl::flat_hash_map<std::string, Path> paths;
    // Paths with a `{}` segment: what comes before it and after it.
    std::vector<std::pair<std::string, std::string>> patterns;
    // The route `path` matches, or nullptr.
    const Path* Find(std::string_view path) const;
  };
  struct Kind {
    uint32_t limit = UINT32_MAX;
    std::atomic<uint32_t> in_flight{0};
    std::atomic<uint64_t> rejections{0};
  };
  class BodyDeadlines;

  static int OnRequest(mg_connection* connection);
  static void OnClose(const mg_connection* connection);
  void Serve(mg_connection* connection);
  // Answers the request; returns the status sent and sets `*metrics` to
  // the route's counts once the route is known.
  int Dispatch(mg_connection* connection, HttpMetrics::Handler** metrics);
  // Reads the body into `body` within the read timeout; on error `status`
  // is the answer's (400, or 408 when the deadline passed).
  absl::Status ReadBody(mg_connection* connection, int socket,
                        long long content_length, size_t limit,
                        std::string* body, int* status);
  // "GET, HEAD, OPTIONS" and the like, for Allow.
  static std::string Allowed(const Methods& methods);

  std::shared_ptr<HttpMetrics> metrics_;
  // Every route. Route writes it; requests read it only once serving_
  // points to it (published with release, read with acquire).
  RouteTable routes_;
  // A `starting` start: the routes added before Start, served until
  // ServeAllRoutes.
  std::unique_ptr<RouteTable> early_routes_;
  std::atomic<const RouteTable*> serving_{&routes_};
  HttpServerOptions options_;
  Kind kinds_[kRequestKinds];
  std::atomic<uint64_t> read_timeouts_{0};
  std::atomic<uint64_t> unauthorized_{0};
  std::unique_ptr<BodyDeadlines> deadlines_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_HTTP_SERVER_H_
