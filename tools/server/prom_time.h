// Time and duration text as the Prometheus HTTP API takes it.
//
//   ParsePromTime("1700000000.5")               -> 1700000000500 (ms)
//   ParsePromTime("2023-11-14T22:13:20.5Z")     -> 1700000000500
//   ParsePromDuration("1m30s")                  -> 90000 (ms)
//   ParsePromDuration("15")                     -> 15000 (float seconds)
//
// Times are RFC 3339 (fractional seconds and offsets allowed) or Unix
// seconds with an optional fraction, rounded to the millisecond like
// Prometheus. Durations are Prometheus durations (ms, s, m, h, d, w, y,
// units in decreasing order, as in "1h30m") or float seconds. Errors name
// the text and what was wrong.
//
// Thread safety: pure functions.
#ifndef KEEL_TOOLS_SERVER_PROM_TIME_H_
#define KEEL_TOOLS_SERVER_PROM_TIME_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace keel::tools {

// Milliseconds since the Unix epoch.
absl::StatusOr<int64_t> ParsePromTime(std::string_view text);
// Milliseconds, > 0.
absl::StatusOr<int64_t> ParsePromDuration(std::string_view text);
// "2h", "5m", "30s", "1h30m", "250ms": the units alone, no float seconds
// (for configuration, where a bare number is ambiguous). Milliseconds, > 0.
absl::StatusOr<int64_t> ParseDurationWithUnits(std::string_view text);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_PROM_TIME_H_
