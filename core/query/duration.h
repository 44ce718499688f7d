// PromQL durations, `1h30m`, `5m`, `250ms`, as Prometheus' model.Duration
// reads and writes them: units y (365 days), w, d, h, m, s, ms, each at most
// once and in that order, no fractions, no sign.
//
//   keel::query::ParseDuration("1h30m");     // 5400000 (ms)
//   keel::query::FormatDuration(5400000);    // "1h30m"
//   keel::query::FormatDuration(8 * 86400000);  // "8d": y and w only whole
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_QUERY_DURATION_H_
#define KEEL_CORE_QUERY_DURATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keel::query {

// Milliseconds. "0" is accepted without a unit. Errors, in Prometheus'
// words: `not a valid duration string: "5m1h"`, `duration out of range`
// (more than Go's time.Duration holds, about 292 years), `empty duration
// string`.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);

// The canonical form: "0s" for 0; y and w only when they divide the rest
// exactly (90d stays 90d, not 12w6d). REQUIRES: ms >= 0.
std::string FormatDuration(int64_t ms);

}  // namespace keel::query

#endif  // KEEL_CORE_QUERY_DURATION_H_
