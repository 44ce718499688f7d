// ParseSelector: reads a PromQL-style series selector into matchers.
//
//   auto m =
//   keel::core::ParseSelector(R"(http_requests{job="api",code=~"5.."})");
//   // -> __name__="http_requests", job="api", code=~"5.."
//
// Accepted: `name`, `name{...}` and `{...}`; inside the braces a comma-
// separated list (a trailing comma allowed) of `label op "value"` with op one
// of = != =~ !~ and values in double or single quotes with Go escapes
// (\\ \" \' \n \t). Errors name the byte offset and what was expected.
//
// Thread safety: pure function.
#ifndef KEEL_CORE_SELECTOR_H_
#define KEEL_CORE_SELECTOR_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/core/matcher.h"

namespace keel::core {

absl::StatusOr<std::vector<Matcher>> ParseSelector(std::string_view text);

}  // namespace keel::core

#endif  // KEEL_CORE_SELECTOR_H_
