// HttpBodyStream: where a streamed answer's body goes. A handler whose
// answer is large returns HttpResponse::Streamed with a producer instead of
// a whole body; the server sends the headers, then runs the producer, which
// appends to out() and calls Flush whenever it holds about kPieceBytes: each
// piece goes to the client as one chunk (chunked transfer coding) while the
// next is produced, in a buffer that is reused, so the answer is never held
// whole.
//
//   return HttpResponse::Streamed(200, [rows](HttpBodyStream& s) {
//     for (const Row& row : rows) {
//       AppendRow(row, s.out());
//       if (s.size() >= HttpBodyStream::kPieceBytes && !s.Flush()) {
//         return false;  // the client is gone
//       }
//     }
//     return true;
//   });
//
// The status and headers are sent before the body is produced, so a
// producer cannot fail with an error answer: it checks what can refuse
// the answer (limits) before it is returned. A producer returning false (or
// a Flush failing) ends the connection without the last chunk, so the
// client sees a cut answer, never a complete one. An HTTP/1.0 client, which
// has no chunked coding, gets the body gathered whole with Content-Length;
// a HEAD request gets the headers and the producer is not run.
//
// Thread safety: one stream is used by the one thread answering its request.
#ifndef KEEL_TOOLS_SERVER_HTTP_BODY_STREAM_H_
#define KEEL_TOOLS_SERVER_HTTP_BODY_STREAM_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

struct mg_connection;

namespace keel::tools {

struct HttpResponse;

class HttpBodyStream {
 public:
  // About what a producer holds before it flushes: big enough that the
  // per-chunk costs (a write call, the chunk's framing) do not count, small
  // enough to stay in cache.
  static constexpr std::size_t kPieceBytes = std::size_t{128} << 10;

  // Sends to `connection` (chunked), or gathers the body whole when
  // `connection` is null (see body()).
  explicit HttpBodyStream(mg_connection* connection);
  HttpBodyStream(const HttpBodyStream&) = delete;
  HttpBodyStream& operator=(const HttpBodyStream&) = delete;

  // Where the producer appends the body. REQUIRES: only appended to; what
  // it held is gone after a Flush.
  std::string* out() { return &buffer_; }
  // The bytes out() holds that are not sent yet.
  std::size_t size() const { return buffer_.size() - room_; }
  // Sends what out() holds as one chunk (nothing when empty, and nothing
  // at all when gathering); false once a write failed: the client is gone.
  bool Flush();
  // Flushes and ends the body (the last, empty, chunk).
  bool Finish();
  // A gathering stream's body.
  std::string_view body() const {
    return std::string_view(buffer_).substr(room_);
  }

 private:
  mg_connection* connection_;
  // The chunk's size line goes in the room before the data, so a chunk is
  // one write and its data is never copied.
  std::size_t room_;
  std::string buffer_;
  bool ok_ = true;
};

namespace tools_internal {

// HttpServer's sending of a streamed response (REQUIRES: response.stream):
// the headers (with `extra` header lines), then the body as the producer
// makes it; see above. Returns the status sent.
int SendStreamed(mg_connection* connection, const HttpResponse& response,
                 bool head, absl::string_view extra);

}  // namespace tools_internal
}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_HTTP_BODY_STREAM_H_
