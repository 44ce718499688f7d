// A parse error at a byte offset, and the status Prometheus' words give it:
// "1:5: parse error: unexpected ..." (line and byte column, both from 1).
//
// Thread safety: plain value; pure function.
#ifndef KEEL_CORE_QUERY_INTERNAL_PARSE_ERROR_H_
#define KEEL_CORE_QUERY_INTERNAL_PARSE_ERROR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace keel::query_internal {

struct ParseError {
  uint32_t pos = 0;
  std::string message;
};

// InvalidArgument with Prometheus' ParseErr.Error() text for `input`.
absl::Status ParseErrorStatus(std::string_view input, const ParseError& error);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_PARSE_ERROR_H_
