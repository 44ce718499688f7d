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
// A selector longer than SelectorLimits::max_bytes or with more matchers
// than max_matchers is refused, naming the limit: selection matches every
// matcher against the label's values, so these bound a query's work before
// it starts (with the regex size bound of matcher.h).
//
// Thread safety: pure function.
#ifndef KEEL_CORE_SERIES_SELECTOR_H_
#define KEEL_CORE_SERIES_SELECTOR_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/series/matcher.h"

namespace keel::core {

struct SelectorLimits {
  std::size_t max_bytes = 64 << 10;
  // As many as a series may have labels (LabelLimits::max_labels).
  std::size_t max_matchers = 64;
};

absl::StatusOr<std::vector<Matcher>> ParseSelector(
    std::string_view text, const SelectorLimits& limits = {});

}  // namespace keel::core

#endif  // KEEL_CORE_SERIES_SELECTOR_H_
