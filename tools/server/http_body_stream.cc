#include "tools/server/http_body_stream.h"

#include <civetweb.h>

#include <charconv>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/server/http_server.h"

namespace keel::tools {
namespace {

// A chunk's size line: up to 16 hex digits and CRLF.
constexpr std::size_t kSizeLineRoom = 18;

}  // namespace

HttpBodyStream::HttpBodyStream(mg_connection* connection)
    : connection_(connection),
      room_(connection != nullptr ? kSizeLineRoom : 0),
      buffer_(room_, '\0') {
  buffer_.reserve(kPieceBytes + kPieceBytes / 4);
}

bool HttpBodyStream::Flush() {
  if (connection_ == nullptr || !ok_ || size() == 0) return ok_;
  char hex[16];
  auto r = std::to_chars(hex, hex + sizeof(hex), size(), 16);
  const std::size_t digits = static_cast<std::size_t>(r.ptr - hex);
  const std::size_t begin = room_ - digits - 2;
  buffer_.replace(begin, digits, hex, digits);
  buffer_[room_ - 2] = '\r';
  buffer_[room_ - 1] = '\n';
  buffer_ += "\r\n";
  const std::size_t n = buffer_.size() - begin;
  ok_ = mg_write(connection_, buffer_.data() + begin, n) == static_cast<int>(n);
  buffer_.resize(room_);
  return ok_;
}

bool HttpBodyStream::Finish() {
  if (!Flush()) return false;
  if (connection_ == nullptr) return true;
  static constexpr char kLast[] = "0\r\n\r\n";
  ok_ = mg_write(connection_, kLast, sizeof(kLast) - 1) == sizeof(kLast) - 1;
  return ok_;
}

HttpResponse HttpResponse::Streamed(
    int status, std::function<bool(HttpBodyStream&)> producer) {
  HttpResponse response;
  response.status = status;
  response.stream = std::move(producer);
  return response;
}

namespace tools_internal {

int SendStreamed(mg_connection* connection, const HttpResponse& response,
                 bool head, absl::string_view extra) {
  const char* version = mg_get_request_info(connection)->http_version;
  const bool chunked = version != nullptr && std::string_view(version) != "1.0";
  std::string headers = absl::StrCat(
      "HTTP/1.1 ", response.status, " ",
      mg_get_response_code_text(connection, response.status), "\r\n",
      response.headers, extra, "Content-Type: ", response.content_type, "\r\n");
  if (head || chunked) {
    if (chunked) headers += "Transfer-Encoding: chunked\r\n";
    headers += "\r\n";
    mg_write(connection, headers.data(), headers.size());
    if (head) return response.status;
    HttpBodyStream stream(connection);
    if (!response.stream(stream) || !stream.Finish()) {
      mg_disable_connection_keep_alive(connection);
    }
    return response.status;
  }
  HttpBodyStream whole(nullptr);
  if (!response.stream(whole)) {
    // Nothing was sent: the connection ends without an answer.
    mg_disable_connection_keep_alive(connection);
    return response.status;
  }
  const std::string_view body = whole.body();
  absl::StrAppend(&headers, "Content-Length: ", body.size(), "\r\n\r\n",
                  absl::string_view(body.data(), body.size()));
  mg_write(connection, headers.data(), headers.size());
  return response.status;
}

}  // namespace tools_internal
}  // namespace keel::tools
