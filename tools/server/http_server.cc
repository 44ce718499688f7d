#include "keel/tools/server/http_server.h"

#include <civetweb.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "keel/tools/json.h"

namespace keel::tools {
namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    default:
      return "Unknown";
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding with '+' as a space, as HTML forms and Prometheus'
// clients encode; a malformed escape stays as it is.
std::string Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
               HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 +
                                      HexDigit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void Send(mg_connection* connection, const HttpResponse& response) {
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ",
                                 StatusText(response.status), "\r\n");
  if (response.status != 204) {
    absl::StrAppend(&out, "Content-Type: ", response.content_type,
                    "\r\nContent-Length: ", response.body.size(), "\r\n");
  }
  out += "\r\n";
  if (response.status != 204) out += response.body;
  mg_write(connection, out.data(), out.size());
}

// The body, or an error when it is longer than `limit`. A body of unknown
// length (chunked) is read until the limit is passed.
[[gnu::noinline]] absl::Status ReadBody(mg_connection* connection,
                                        long long content_length, size_t limit,
                                        std::string* body) {
  if (content_length > static_cast<long long>(limit)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body of ", content_length,
                     " bytes exceeds the limit of ", limit, " bytes"));
  }
  if (content_length >= 0) body->reserve(static_cast<size_t>(content_length));
  char buffer[16384];
  while (true) {
    int n = mg_read(connection, buffer, sizeof(buffer));
    if (n < 0) return absl::InvalidArgumentError("error reading request body");
    if (n == 0) break;
    if (body->size() + n > limit) {
      return absl::InvalidArgumentError(
          absl::StrCat("request body exceeds the limit of ", limit, " bytes"));
    }
    body->append(buffer, n);
  }
  if (content_length >= 0 &&
      body->size() != static_cast<size_t>(content_length)) {
    return absl::InvalidArgumentError(absl::StrCat("request body ended after ",
                                                   body->size(), " of ",
                                                   content_length, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

const std::string* HttpRequest::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::string_view HttpRequest::header(const char* name) const {
  const char* value = mg_get_header(connection, name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

bool HttpRequest::ClientGone() const { return false; }

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view reason) {
  return Json(status, JsonObject().add("error", reason).str());
}

HttpResponse HttpResponse::Empty(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view field = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (field.empty()) continue;
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) {
      params.emplace_back(Decode(field), std::string());
    } else {
      params.emplace_back(Decode(field.substr(0, eq)),
                          Decode(field.substr(eq + 1)));
    }
  }
  return params;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string path,
                       HttpHandler handler, size_t max_body_bytes) {
  routes_[std::move(path)][std::move(method)] =
      Endpoint{std::move(handler), max_body_bytes};
}

absl::Status HttpServer::Start(const HttpServerOptions& options) {
  static std::once_flag library;
  std::call_once(library, [] { mg_init_library(0); });
  std::string threads = absl::StrCat(options.threads);
  const char* config[] = {"listening_ports",
                          options.listen.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "enable_keep_alive",
                          "yes",
                          "keep_alive_timeout_ms",
                          "30000",
                          "request_timeout_ms",
                          "30000",
                          "tcp_nodelay",
                          "1",
                          nullptr};
  mg_callbacks callbacks{};
  callbacks.begin_request = &HttpServer::OnRequest;
  // civetweb's own messages (bad requests it refuses itself) stay quiet.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{&callbacks, this, config};
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof(error_text)};
  context_ = mg_start2(&init, &error);
  if (context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, ": ", error_text));
  }
  mg_server_port ports[4]{};
  if (mg_get_server_ports(context_, 4, ports) > 0) port_ = ports[0].port;
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (context_ != nullptr) {
    mg_stop(context_);
    context_ = nullptr;
  }
}

int HttpServer::OnRequest(mg_connection* connection) {
  auto* server =
      static_cast<HttpServer*>(mg_get_request_info(connection)->user_data);
  server->Serve(connection);
  return 1;
}

void HttpServer::Serve(mg_connection* connection) {
  const mg_request_info* info = mg_get_request_info(connection);
  std::string_view path = info->local_uri_raw ? info->local_uri_raw : "";
  auto by_path = routes_.find(absl::string_view(path.data(), path.size()));
  if (by_path == routes_.end()) {
    return Send(connection,
                HttpResponse::Error(404, absl::StrCat("no such endpoint: ",
                                                      std::string(path))));
  }
  auto endpoint = by_path->second.find(info->request_method);
  if (endpoint == by_path->second.end()) {
    return Send(connection,
                HttpResponse::Error(405, absl::StrCat(info->request_method,
                                                      " is not allowed on ",
                                                      std::string(path))));
  }
  HttpRequest request;
  request.method = info->request_method;
  request.path = path;
  request.connection = connection;
  if (info->query_string != nullptr) {
    request.params = ParseQueryString(info->query_string);
  }
  // A request with neither Content-Length nor chunking has no body.
  bool has_body =
      info->content_length > 0 || !request.header("Transfer-Encoding").empty();
  if (absl::Status s =
          has_body ? ReadBody(connection, info->content_length,
                              endpoint->second.max_body_bytes, &request.body)
                   : absl::OkStatus();
      !s.ok()) {
    mg_disable_connection_keep_alive(connection);
    return Send(connection, HttpResponse::Error(400, std::string(s.message())));
  }
  std::string_view type = request.header("Content-Type");
  if (request.method == "POST" &&
      type.starts_with("application/x-www-form-urlencoded")) {
    for (auto& field : ParseQueryString(request.body)) {
      request.params.push_back(std::move(field));
    }
  }
  Send(connection, endpoint->second.handler(request));
}

}  // namespace keel::tools
