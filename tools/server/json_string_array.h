// ParseJsonStringArray: reads a JSON array of strings (RFC 8259), the body
// of POST /v1/lookup: `["192.0.2.1", "2001:db8::1"]`.
//
//   absl::StatusOr<std::vector<std::string>> ips =
//       ParseJsonStringArray(body, /*max_items=*/10000);
//
// Anything else (another JSON type, an element that is not a string, bad
// escapes, trailing bytes, more than `max_items` elements) is an
// InvalidArgument error naming the byte offset and what was expected.
//
// Thread safety: a pure function.
#ifndef KEEL_TOOLS_SERVER_JSON_STRING_ARRAY_H_
#define KEEL_TOOLS_SERVER_JSON_STRING_ARRAY_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace keel::tools {

absl::StatusOr<std::vector<std::string>> ParseJsonStringArray(
    std::string_view text, size_t max_items);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_JSON_STRING_ARRAY_H_
