#include "core/query/internal/parse_error.h"

#include "absl/strings/str_cat.h"

namespace keel::query_internal {

absl::Status ParseErrorStatus(std::string_view input, const ParseError& error) {
  if (error.pos > input.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid position: parse error: ", error.message));
  }
  int line = 1;
  int64_t last_break = -1;
  for (uint32_t i = 0; i < error.pos; ++i) {
    if (input[i] == '\n') {
      last_break = i;
      ++line;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(line, ":", static_cast<int64_t>(error.pos) - last_break,
                   ": parse error: ", error.message));
}

}  // namespace keel::query_internal
