#include "tools/server/http_server.h"

#include <civetweb.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "alloc/thread_arena.h"
#include "tools/server/internal/http_request_checks.h"

namespace keel::tools {
namespace {

using tools_internal::BearerMatches;
using tools_internal::CheckFraming;
using tools_internal::FindSocket;

// One whole answer in one write (a streamed one as http_body_stream.h says).
// `extra` holds header lines ("Name: v\r\n"); a HEAD answer has the headers
// GET would have and no body. Returns the status sent.
int Send(mg_connection* connection, const HttpResponse& response,
         bool head = false, absl::string_view extra = {}) {
  if (response.stream) {
    return tools_internal::SendStreamed(connection, response, head, extra);
  }
  std::string out =
      absl::StrCat("HTTP/1.1 ", response.status, " ",
                   mg_get_response_code_text(connection, response.status),
                   "\r\n", response.headers, extra);
  bool has_body = response.status != 204 && response.status != 304;
  if (has_body) {
    absl::StrAppend(&out, "Content-Type: ", response.content_type,
                    "\r\nContent-Length: ", response.body.size(), "\r\n");
  }
  out += "\r\n";
  if (has_body && !head) out += response.body;
  mg_write(connection, out.data(), out.size());
  return response.status;
}

// Sends an error and closes the connection afterwards: used when a body may
// be pending that the server will not read.
int SendAndClose(mg_connection* connection, const HttpResponse& response,
                 bool head, absl::string_view extra = {}) {
  mg_disable_connection_keep_alive(connection);
  return Send(connection, response, head,
              absl::StrCat(extra, "Connection: close\r\n"));
}

// What the worker thread knows about the connection it serves: civetweb
// runs one connection at a time on each worker and calls OnClose on that
// worker when it ends.
struct ConnectionState {
  int socket = -2;  // -2: not looked up yet
  // civetweb answered an error itself (http_error callback).
  bool civetweb_answered = false;
};
thread_local ConnectionState connection_state;

// The arena of every worker thread's allocations: request bodies, what
// handlers decode and answer, civetweb's own buffers. Decay returns freed
// pages while writes keep coming; a purge after every purge_threshold bytes
// freed, those left when they stop. civetweb keeps hundreds of workers: a
// thread cache each would hold tens of KB of bins (in jemalloc's first
// automatic arena) and, as an idle worker never empties its cache, regions
// freed by every request it served. The workers run without one.
alloc::ThreadArena& RequestArena() {
  return alloc::ThreadArena::Named("http", {.thread_cache = false});
}

int ConnectionSocket(const mg_connection* connection) {
  if (connection_state.socket == -2) {
    connection_state.socket = FindSocket(connection);
  }
  return connection_state.socket;
}

}  // namespace

// Enforces the body deadline: mg_read waits up to civetweb's request timeout
// for each piece and starts over when a byte comes, so a client sending one
// byte at a time would hold its worker forever. A reader arms a deadline for
// its socket; when it passes, this thread shuts the socket's reading side
// down, which ends the pending mg_read at once.
class HttpServer::BodyDeadlines {
 public:
  using Clock = std::chrono::steady_clock;

  BodyDeadlines() : thread_([this] { Run(); }) {}
  ~BodyDeadlines() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    changed_.notify_one();
    thread_.join();
  }

  uint64_t Arm(int socket, Clock::time_point deadline) {
    uint64_t id;
    {
      std::lock_guard lock(mu_);
      id = next_id_++;
      armed_.emplace(id, Entry{socket, deadline});
    }
    changed_.notify_one();
    return id;
  }

  // Returns whether the deadline passed (the socket was shut down).
  bool Disarm(uint64_t id) {
    std::lock_guard lock(mu_);
    return armed_.erase(id) == 0;
  }

 private:
  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through it with
  // Debian's uninstrumented Abseil.
  struct Entry {
    int socket;
    Clock::time_point deadline;
  };

  void Run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      Clock::time_point now = Clock::now(), next = Clock::time_point::max();
      // Entries are at most one a worker thread: a scan is cheap.
      for (auto it = armed_.begin(); it != armed_.end();) {
        if (it->second.deadline <= now) {
          // The reader still holds the connection (it disarms under mu_),
          // so the descriptor cannot have been closed and reused.
          shutdown(it->second.socket, SHUT_RD);
          it = armed_.erase(it);
        } else {
          next = std::min(next, it->second.deadline);
          ++it;
        }
      }
      if (next == Clock::time_point::max()) {
        changed_.wait(lock);
      } else {
        changed_.wait_until(lock, next);
      }
    }
  }

  std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;            // guarded by mu_
  uint64_t next_id_ = 0;             // guarded by mu_
  std::map<uint64_t, Entry> armed_;  // guarded by mu_
  std::thread thread_;
};

std::string_view RequestKindName(RequestKind kind) {
  switch (kind) {
    case RequestKind::kWrite:
      return "write";
    case RequestKind::kQuery:
      return "query";
    case RequestKind::kOther:
      break;
  }
  return "other";
}

HttpServer::HttpServer() : metrics_(std::make_shared<HttpMetrics>()) {}

bool HttpServer::SupportsIpv6() {
  return mg_check_feature(MG_FEATURES_IPV6) != 0;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string path,
                       HttpHandler handler, RouteOptions options) {
  auto [it, added] = routes_.paths.try_emplace(path);
  if (added) {
    it->second.metrics = metrics_->ForHandler(path);
    if (size_t at = path.find("/{}/"); at != std::string::npos) {
      routes_.patterns.emplace_back(path.substr(0, at + 1),
                                    path.substr(at + 3));
    }
  }
  it->second.methods[std::move(method)] = Endpoint{std::move(handler), options};
}

const HttpServer::Path* HttpServer::RouteTable::Find(
    std::string_view path) const {
  auto it = paths.find(absl::string_view(path.data(), path.size()));
  for (size_t i = 0; it == paths.end() && i < patterns.size(); ++i) {
    const auto& [before, after] = patterns[i];
    if (path.size() > before.size() + after.size() &&
        path.starts_with(before) && path.ends_with(after) &&
        path.substr(before.size(), path.size() - before.size() - after.size())
                .find('/') == std::string_view::npos) {
      it = paths.find(absl::StrCat(before, "{}", after));
    }
  }
  return it == paths.end() ? nullptr : &it->second;
}

absl::Status HttpServer::Start(const HttpServerOptions& options) {
  static std::once_flag library;
  std::call_once(library, [] { mg_init_library(0); });
  if (options.listen.starts_with('[') && !SupportsIpv6()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        ": this civetweb was built without IPv6 (as Debian's libcivetweb 1.15 "
        "is); listen on an IPv4 address, or put an IPv6 proxy in front"));
  }
  options_ = options;
  if (options.starting) {
    early_routes_ = std::make_unique<RouteTable>(routes_);
    serving_.store(early_routes_.get(), std::memory_order_release);
  }
  kinds_[static_cast<int>(RequestKind::kWrite)].limit =
      options.max_concurrent_writes;
  kinds_[static_cast<int>(RequestKind::kQuery)].limit =
      options.max_concurrent_queries;
  std::string threads = absl::StrCat(options.threads);
  // civetweb checks the header deadline only after each wait of
  // request_timeout_ms, so half the read timeout keeps the headers within
  // it. It is also the per-piece wait for writing an answer.
  std::string request_timeout =
      absl::StrCat(std::max<int64_t>(1, options.read_timeout_ms / 2));
  std::string idle_timeout = absl::StrCat(options.idle_timeout_ms);
  // Connections beyond the worker threads wait here, not in a slow backlog.
  std::string queue = absl::StrCat(std::max(20, options.threads));
  const char* config[] = {
      "listening_ports", options.listen.c_str(), "num_threads", threads.c_str(),
      "connection_queue", queue.c_str(), "enable_keep_alive", "yes",
      "keep_alive_timeout_ms", idle_timeout.c_str(), "request_timeout_ms",
      request_timeout.c_str(),
      // Absolute-form targets (RFC 9112 3.2.2) are
      // routed by their path whatever host they name.
      "enable_auth_domain_check", "no", "tcp_nodelay", "1", nullptr};
  mg_callbacks callbacks{};
  callbacks.begin_request = &HttpServer::OnRequest;
  callbacks.init_thread = [](const mg_context*, int thread_type) -> void* {
    if (thread_type == 1) RequestArena().Bind();  // a worker
    return nullptr;
  };
  callbacks.connection_close = &HttpServer::OnClose;
  callbacks.http_error = [](mg_connection* connection, int status,
                            const char*) {
    connection_state.civetweb_answered = true;
    auto* server =
        static_cast<HttpServer*>(mg_get_request_info(connection)->user_data);
    HttpMetrics::Record(server->metrics_->other(), status, 0);
    return 1;  // civetweb sends its own error page
  };
  // civetweb's own messages (bad requests it refuses itself) stay quiet.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{&callbacks, this, config};
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof(error_text)};
  deadlines_ = std::make_unique<BodyDeadlines>();
  {  // civetweb allocates every worker's connection state on this thread
    alloc::ThreadArena::Binding binding(RequestArena());
    context_ = mg_start2(&init, &error);
  }
  if (context_ == nullptr) {
    deadlines_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, ": ", error_text));
  }
  mg_server_port ports[4]{};
  if (mg_get_server_ports(context_, 4, ports) > 0) port_ = ports[0].port;
  return absl::OkStatus();
}

void HttpServer::ServeAllRoutes() {
  serving_.store(&routes_, std::memory_order_release);
}

void HttpServer::Stop() {
  if (context_ != nullptr) {
    mg_stop(context_);
    context_ = nullptr;
  }
  deadlines_.reset();
}

int HttpServer::OnRequest(mg_connection* connection) {
  auto* server =
      static_cast<HttpServer*>(mg_get_request_info(connection)->user_data);
  server->Serve(connection);
  return 1;
}

// civetweb closes the connection without a word on two requests it does not
// pass to begin_request: `OPTIONS *` and an absolute-form target naming
// another port. The socket is still open here, so they get their answer.
void HttpServer::OnClose(const mg_connection* connection) {
  ConnectionState state = connection_state;
  connection_state = ConnectionState();
  const mg_request_info* info = mg_get_request_info(connection);
  if (state.civetweb_answered || info == nullptr ||
      info->request_method == nullptr || info->request_uri == nullptr ||
      info->local_uri_raw != nullptr) {
    return;
  }
  auto* writable = const_cast<mg_connection*>(connection);
  auto* server = static_cast<HttpServer*>(info->user_data);
  std::string_view method = info->request_method;
  int status = 0;
  if (method == "OPTIONS" && std::string_view(info->request_uri) == "*") {
    status = Send(writable, HttpResponse::Empty(204), false,
                  "Allow: GET, HEAD, POST, OPTIONS\r\nConnection: close\r\n");
  } else if (absl::StartsWithIgnoreCase(info->request_uri, "http")) {
    status = Send(
        writable,
        HttpResponse::Error(421, "the request target names another server"),
        method == "HEAD", "Connection: close\r\n");
  }
  if (status != 0) HttpMetrics::Record(server->metrics_->other(), status, 0);
}

std::string HttpServer::Allowed(const Methods& methods) {
  std::vector<std::string> names;
  for (const auto& [name, endpoint] : methods) names.push_back(name);
  if (methods.contains("GET")) names.push_back("HEAD");
  names.push_back("OPTIONS");
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& name : names) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", name);
  }
  return out;
}

void HttpServer::Serve(mg_connection* connection) {
  alloc::ThreadArena::Scope memory(RequestArena());
  auto start = std::chrono::steady_clock::now();
  HttpMetrics::Handler* metrics = metrics_->other();
  int status = Dispatch(connection, &metrics);
  HttpMetrics::Record(
      metrics, status,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
}

int HttpServer::Dispatch(mg_connection* connection,
                         HttpMetrics::Handler** metrics) {
  const mg_request_info* info = mg_get_request_info(connection);
  std::string_view method = info->request_method;
  bool head = method == "HEAD";
  std::string_view path = info->local_uri_raw ? info->local_uri_raw : "";
  const RouteTable* routes = serving_.load(std::memory_order_acquire);
  const Path* found = routes->Find(path);
  if (found != nullptr) *metrics = found->metrics;
  if (absl::Status s = CheckFraming(info); !s.ok()) {
    return SendAndClose(
        connection, HttpResponse::Error(400, std::string(s.message())), head);
  }
  if (found == nullptr && routes != &routes_) {
    return Send(connection,
                HttpResponse::Error(
                    503,
                    "the server is starting: this endpoint answers once "
                    "it is ready"),
                head);
  }
  if (found == nullptr) {
    return Send(connection,
                HttpResponse::Error(
                    404, absl::StrCat("no such endpoint: ", std::string(path))),
                head);
  }
  std::string allow = absl::StrCat("Allow: ", Allowed(found->methods), "\r\n");
  if (method == "OPTIONS") {
    return Send(connection, HttpResponse::Empty(204), false, allow);
  }
  auto endpoint = found->methods.find(head ? "GET" : info->request_method);
  if (endpoint == found->methods.end()) {
    return Send(connection,
                HttpResponse::Error(405, absl::StrCat(info->request_method,
                                                      " is not allowed on ",
                                                      std::string(path))),
                head, allow);
  }
  const RouteOptions& route = endpoint->second.options;
  HttpRequest request;
  request.method = head ? "GET" : method;
  request.path = path;
  request.connection = connection;
  if (route.needs_auth && !options_.auth_token.empty() &&
      !BearerMatches(request.Header("Authorization"), options_.auth_token)) {
    unauthorized_.fetch_add(1, std::memory_order_relaxed);
    return SendAndClose(
        connection,
        HttpResponse::Error(401, "this endpoint needs a bearer token"), head,
        "WWW-Authenticate: Bearer realm=\"keel\"\r\n");
  }
  Kind& kind = kinds_[static_cast<int>(route.kind)];
  if (kind.in_flight.fetch_add(1, std::memory_order_acq_rel) >= kind.limit) {
    kind.in_flight.fetch_sub(1, std::memory_order_acq_rel);
    kind.rejections.fetch_add(1, std::memory_order_relaxed);
    return SendAndClose(
        connection,
        HttpResponse::Error(
            503, absl::StrCat("too many concurrent ",
                              std::string(RequestKindName(route.kind)),
                              " requests (limit ", kind.limit, "); retry")),
        head, "Retry-After: 1\r\n");
  }
  struct Release {
    Kind& kind;
    ~Release() { kind.in_flight.fetch_sub(1, std::memory_order_acq_rel); }
  } release{kind};

  if (info->query_string != nullptr) {
    request.params = ParseQueryString(info->query_string);
  }
  // A request with neither Content-Length nor chunking has no body.
  bool has_body =
      info->content_length > 0 || !request.Header("Transfer-Encoding").empty();
  if (has_body) {
    request.socket = ConnectionSocket(connection);
    int status = 400;
    absl::Status s = ReadBody(connection, request.socket, info->content_length,
                              route.max_body_bytes, &request.body, &status);
    if (!s.ok()) {
      if (status == 408) read_timeouts_.fetch_add(1, std::memory_order_relaxed);
      return SendAndClose(connection,
                          HttpResponse::Error(status, std::string(s.message())),
                          head);
    }
  }
  std::string_view type = request.Header("Content-Type");
  if (request.method == "POST" &&
      type.starts_with("application/x-www-form-urlencoded")) {
    for (auto& field : ParseQueryString(request.body)) {
      request.params.push_back(std::move(field));
    }
  }
  return Send(connection, endpoint->second.handler(request), head);
}

absl::Status HttpServer::ReadBody(mg_connection* connection, int socket,
                                  long long content_length, size_t limit,
                                  std::string* body, int* status) {
  if (content_length > static_cast<long long>(limit)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body of ", content_length,
                     " bytes exceeds the limit of ", limit, " bytes"));
  }
  if (content_length >= 0) body->reserve(static_cast<size_t>(content_length));
  // Without its socket the body has civetweb's per-read timeout only.
  uint64_t armed =
      socket >= 0
          ? deadlines_->Arm(
                socket, BodyDeadlines::Clock::now() +
                            std::chrono::milliseconds(options_.read_timeout_ms))
          : 0;
  absl::Status result = absl::OkStatus();
  char buffer[16384];
  while (true) {
    int n = mg_read(connection, buffer, sizeof(buffer));
    if (n <= 0) {
      if (n < 0 || (content_length >= 0 &&
                    body->size() != static_cast<size_t>(content_length))) {
        result = absl::InvalidArgumentError(
            absl::StrCat("request body ended after ", body->size(), " of ",
                         content_length, " bytes"));
      }
      break;
    }
    if (body->size() + n > limit) {
      result = absl::InvalidArgumentError(
          absl::StrCat("request body exceeds the limit of ", limit, " bytes"));
      break;
    }
    body->append(buffer, n);
  }
  // A chunked body cut at the deadline may look complete to mg_read.
  bool expired = socket >= 0 && deadlines_->Disarm(armed);
  if (expired && (!result.ok() || content_length < 0)) {
    *status = 408;
    return absl::DeadlineExceededError(absl::StrCat(
        "request body not received within the read timeout of ",
        options_.read_timeout_ms, " ms (", body->size(), " bytes arrived)"));
  }
  return result;
}

}  // namespace keel::tools
