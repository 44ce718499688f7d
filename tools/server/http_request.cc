// HttpRequest and HttpResponse, and the checks HttpServer makes of a request
// before a handler runs (tools/server/internal/http_request_checks.h): what
// a request is read as, apart from how the server serves it.
#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/json.h"
#include "tools/server/http_server.h"
#include "tools/server/internal/http_request_checks.h"

namespace keel::tools {
namespace tools_internal {

// The connected socket civetweb serves `connection` on. civetweb does not
// expose it, so it is the one socket of this process whose local port is the
// server's and whose peer is the request's remote address and port.
int FindSocket(const mg_connection* connection) {
  const mg_request_info* info = mg_get_request_info(connection);
  if (info == nullptr) return -1;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  int own = dirfd(dir);
  while (dirent* entry = readdir(dir)) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == own) continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_size = sizeof(peer), local_size = sizeof(local);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) !=
            0) {
      continue;
    }
    char text[INET6_ADDRSTRLEN] = "";
    int peer_port = 0, local_port = 0;
    if (peer.ss_family == AF_INET && local.ss_family == AF_INET) {
      auto* p = reinterpret_cast<sockaddr_in*>(&peer);
      inet_ntop(AF_INET, &p->sin_addr, text, sizeof(text));
      peer_port = ntohs(p->sin_port);
      local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
    } else if (peer.ss_family == AF_INET6 && local.ss_family == AF_INET6) {
      auto* p = reinterpret_cast<sockaddr_in6*>(&peer);
      inet_ntop(AF_INET6, &p->sin6_addr, text, sizeof(text));
      peer_port = ntohs(p->sin6_port);
      local_port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    } else {
      continue;
    }
    if (peer_port == info->remote_port && local_port == info->server_port &&
        std::strcmp(text, info->remote_addr) == 0) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

// Framing checks of RFC 9112 6.1 and 6.3 that civetweb leaves out: it takes
// the first Content-Length and ignores it under Transfer-Encoding, which a
// proxy in front may read otherwise (request smuggling). Repeated equal
// values ("5, 5" or two headers of 5) are one length.
absl::Status CheckFraming(const mg_request_info* info) {
  bool chunked = false;
  std::string_view length;
  for (int i = 0; i < info->num_headers; ++i) {
    const mg_header& h = info->http_headers[i];
    if (strcasecmp(h.name, "Transfer-Encoding") == 0) chunked = true;
    if (strcasecmp(h.name, "Content-Length") != 0) continue;
    for (absl::string_view item : absl::StrSplit(h.value, ',')) {
      item = absl::StripAsciiWhitespace(item);
      if (item.empty() ||
          item.find_first_not_of("0123456789") != absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid Content-Length \"", std::string(h.value), "\""));
      }
      std::string_view value(item.data(), item.size());
      if (!length.empty() && value != length) {
        return absl::InvalidArgumentError(
            absl::StrCat("conflicting Content-Length values ",
                         std::string(length), " and ", std::string(value)));
      }
      length = value;
    }
  }
  if (chunked && !length.empty()) {
    return absl::InvalidArgumentError(
        "Content-Length and Transfer-Encoding together");
  }
  return absl::OkStatus();
}

// Whether `header` is "Bearer <token>", compared in time independent of
// where they differ.
bool BearerMatches(std::string_view header, std::string_view token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() != kScheme.size() + token.size() ||
      !absl::StartsWithIgnoreCase(
          absl::string_view(header.data(), kScheme.size()), "Bearer ")) {
    return false;
  }
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(header[kScheme.size() + i] ^ token[i]);
  }
  return diff == 0;
}

}  // namespace tools_internal

namespace {

// Percent-decoding with '+' as a space, as HTML forms and Prometheus'
// clients encode; a malformed escape stays as it is.
std::string Decode(std::string_view text) {
  std::string out(text.size() + 1, '\0');
  int n = mg_url_decode(text.data(), static_cast<int>(text.size()), out.data(),
                        static_cast<int>(out.size()), 1);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

}  // namespace

const std::string* HttpRequest::Param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::string_view HttpRequest::Header(const char* name) const {
  const char* value = mg_get_header(connection, name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

bool HttpRequest::ClientGone() const {
  if (socket == -2) socket = tools_internal::FindSocket(connection);
  if (socket < 0) return false;
  pollfd p{.fd = socket, .events = POLLRDHUP, .revents = 0};
  return poll(&p, 1, 0) > 0 &&
         (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view reason) {
  return Json(status, JsonObject().Add("error", reason).str());
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

}  // namespace keel::tools
