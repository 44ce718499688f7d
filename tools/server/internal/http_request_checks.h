// What HttpServer asks of a request before its handler runs, and how it
// finds the request's socket (tools/server/http_request.cc).
//
// Thread safety: stateless functions; FindSocket reads /proc/self/fd.
#ifndef KEEL_TOOLS_SERVER_INTERNAL_HTTP_REQUEST_CHECKS_H_
#define KEEL_TOOLS_SERVER_INTERNAL_HTTP_REQUEST_CHECKS_H_

#include <civetweb.h>

#include <string_view>

#include "absl/status/status.h"

namespace keel::tools::tools_internal {

// The connected socket civetweb serves `connection` on, or -1.
int FindSocket(const mg_connection* connection);

// Framing checks of RFC 9112 6.1 and 6.3 that civetweb leaves out.
// Errors: InvalidArgument naming what is wrong.
absl::Status CheckFraming(const mg_request_info* info);

// Whether `header` is "Bearer <token>", compared in time independent of
// where they differ.
bool BearerMatches(std::string_view header, std::string_view token);

}  // namespace keel::tools::tools_internal

#endif  // KEEL_TOOLS_SERVER_INTERNAL_HTTP_REQUEST_CHECKS_H_
