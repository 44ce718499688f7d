#include "tools/http_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace keel::tools {

absl::StatusOr<HttpAddress> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(url), ": expected http://HOST:PORT"));
  }
  std::string_view hostport = url.substr(kScheme.size());
  if (size_t slash = hostport.find('/'); slash != std::string_view::npos) {
    hostport = hostport.substr(0, slash);
  }
  const size_t colon = hostport.rfind(':');
  HttpAddress address;
  address.host = std::string(hostport.substr(0, colon));
  address.port = colon == std::string_view::npos
                     ? "80"
                     : std::string(hostport.substr(colon + 1));
  if (address.host.size() > 1 && address.host.front() == '[') {
    address.host = address.host.substr(1, address.host.size() - 2);
  }
  return address;
}

HttpClient::HttpClient(std::string host, std::string port,
                       HttpClientOptions options)
    : host_(std::move(host)), port_(std::move(port)), options_(options) {}

HttpClient::~HttpClient() { Close(); }

absl::StatusOr<HttpAnswer> HttpClient::Send(std::string_view method,
                                            std::string_view target,
                                            std::string_view headers,
                                            std::string_view body) {
  const bool ipv6 = host_.find(':') != std::string::npos;
  std::string request =
      absl::StrCat(std::string(method), " ", std::string(target),
                   " HTTP/1.1\r\nHost: ", ipv6 ? "[" : "", host_,
                   ipv6 ? "]:" : ":", port_, "\r\n", std::string(headers),
                   "Content-Length: ", body.size(), "\r\n\r\n");
  request.append(body.data(), body.size());
  absl::Status failed;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0) {
      if (absl::Status s = Connect(); !s.ok()) return s;
    }
    if (WriteAll(request)) {
      absl::StatusOr<HttpAnswer> answer = ReadAnswer(method);
      if (answer.ok() || !absl::IsUnavailable(answer.status())) {
        if (!answer.ok()) Close();
        return answer;
      }
      failed = answer.status();
    } else {
      failed = absl::UnavailableError("sending the request failed");
    }
    Close();  // a stale keep-alive connection: once more on a new one
  }
  return failed;
}

absl::Status HttpClient::Connect() {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found);
      rc != 0) {
    return absl::UnavailableError(
        absl::StrCat(host_, ":", port_, ": ", gai_strerror(rc)));
  }
  int error = 0;
  for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
    fd_ = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd_ >= 0 && connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      Close();
    }
  }
  freeaddrinfo(found);
  if (fd_ < 0) {
    return absl::UnavailableError(absl::StrCat(
        host_, ":", port_, ": cannot connect: ", std::strerror(error)));
  }
  if (options_.timeout_s > 0) {
    timeval timeout{options_.timeout_s, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  buffer_.clear();
  return absl::OkStatus();
}

void HttpClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool HttpClient::WriteAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool HttpClient::Fill() {
  char chunk[64 << 10];
  while (true) {
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

absl::StatusOr<HttpAnswer> HttpClient::ReadAnswer(std::string_view method) {
  auto too_large = [&] {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the answer is over ", options_.max_answer_bytes, " bytes"));
  };
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > options_.max_answer_bytes) return too_large();
    if (!Fill()) return absl::UnavailableError("no answer came");
  }
  const std::string head = absl::AsciiStrToLower(buffer_.substr(0, head_end));
  HttpAnswer answer;
  if (!head.starts_with("http/1.") || head.size() < 12 ||
      !absl::SimpleAtoi(head.substr(9, 3), &answer.status)) {
    return absl::UnavailableError("the server's answer is not HTTP");
  }
  std::optional<size_t> length;
  bool close_after = false;
  bool chunked = false;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
    if (std::exchange(first, false)) continue;  // the status line
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view name = line.substr(0, colon);
    const absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (name == "content-length") {
      size_t n = 0;
      if (absl::SimpleAtoi(value, &n)) length = n;
    } else if (name == "retry-after") {
      absl::SimpleAtoi(value, &answer.retry_after_s);
    } else if (name == "connection" && value.find("close") != value.npos) {
      close_after = true;
    } else if (name == "transfer-encoding" &&
               value.find("chunked") != value.npos) {
      chunked = true;
    }
  }
  const size_t body_start = head_end + 4;
  const bool bodyless = method == "HEAD" || answer.status < 200 ||
                        answer.status == 204 || answer.status == 304;
  if (bodyless) length = 0;
  if (chunked && !bodyless) {
    buffer_.erase(0, body_start);
    absl::Status read = ReadChunkedBody(&answer.body);
    if (!read.ok()) return read;
  } else if (length.has_value()) {
    if (body_start + *length > options_.max_answer_bytes) return too_large();
    while (buffer_.size() < body_start + *length) {
      if (!Fill()) return absl::UnavailableError("the answer was cut short");
    }
  } else {  // until the server closes
    while (Fill()) {
      if (buffer_.size() > options_.max_answer_bytes) return too_large();
    }
    length = buffer_.size() - body_start;
    close_after = true;
  }
  if (!chunked || bodyless) {
    answer.body = buffer_.substr(body_start, *length);
    buffer_.erase(0, body_start + *length);
  }
  if (close_after) Close();
  return answer;
}

absl::Status HttpClient::ReadChunkedBody(std::string* body) {
  // RFC 9112 7.1: chunks of "SIZE[;extensions]\r\nDATA\r\n", a zero
  // size last, then trailer lines (ignored) and an empty line.
  auto line_end = [&]() -> absl::StatusOr<size_t> {
    size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) {
      if (buffer_.size() > 4096) {
        return absl::DataLossError("a chunk header is over 4096 bytes");
      }
      if (!Fill()) return absl::UnavailableError("the answer was cut short");
    }
    return end;
  };
  while (true) {
    absl::StatusOr<size_t> end = line_end();
    if (!end.ok()) return end.status();
    const std::string size_text =
        buffer_.substr(0, buffer_.find_first_of(";\r"));
    size_t size = 0;
    if (size_text.empty() || size_text.size() > 15 ||
        !absl::SimpleHexAtoi(size_text, &size)) {
      return absl::DataLossError(
          absl::StrCat("bad chunk size \"", size_text, "\""));
    }
    buffer_.erase(0, *end + 2);
    if (size == 0) break;
    if (body->size() + size > options_.max_answer_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the answer is over ", options_.max_answer_bytes, " bytes"));
    }
    while (buffer_.size() < size + 2) {
      if (!Fill()) return absl::UnavailableError("the answer was cut short");
    }
    if (buffer_.compare(size, 2, "\r\n") != 0) {
      return absl::DataLossError("a chunk does not end with CRLF");
    }
    body->append(buffer_, 0, size);
    buffer_.erase(0, size + 2);
  }
  while (true) {  // trailer fields, up to the empty line
    absl::StatusOr<size_t> end = line_end();
    if (!end.ok()) return end.status();
    buffer_.erase(0, *end + 2);
    if (*end == 0) return absl::OkStatus();
  }
}

}  // namespace keel::tools
