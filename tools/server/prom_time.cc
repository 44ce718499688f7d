#include "tools/server/prom_time.h"

#include <cmath>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace keel::tools {
namespace {

// Beyond this many milliseconds a double no longer holds every integer, and
// int64 milliseconds overflow near 2.9e8 years; Prometheus' own limits are
// far inside it.
constexpr double kMaxMillis = 9.0e15;

[[gnu::cold]] absl::Status BadTime(std::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse \"", std::string(text),
                   "\" to a valid timestamp (RFC 3339 or Unix seconds)"));
}

[[gnu::cold]] absl::Status BadDuration(std::string_view text,
                                       std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse \"", std::string(text),
                   "\" to a valid duration: ", std::string(why)));
}

}  // namespace

absl::StatusOr<int64_t> ParsePromTime(std::string_view text) {
  double seconds = 0;
  if (absl::SimpleAtod(absl::string_view(text.data(), text.size()), &seconds)) {
    if (!std::isfinite(seconds) || std::fabs(seconds * 1000) > kMaxMillis) {
      return BadTime(text);
    }
    return static_cast<int64_t>(std::llround(seconds * 1000));
  }
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &error)) {
    return BadTime(text);
  }
  // absl::ParseTime also takes "infinite-past" and "infinite-future" (as
  // INT64_MIN and INT64_MAX ms), which would overflow a query's range
  // arithmetic: the same bound as Unix seconds.
  int64_t millis = absl::ToUnixMillis(t);
  if (millis > kMaxMillis || millis < -kMaxMillis) return BadTime(text);
  return millis;
}

absl::StatusOr<int64_t> ParseDurationWithUnits(std::string_view text) {
  struct Unit {
    std::string_view name;
    int64_t millis;
  };
  // Longest names first so that "ms" is not read as "m" then "s".
  static constexpr Unit kUnits[] = {
      {"ms", 1},         {"y", 365 * 86400000LL}, {"w", 7 * 86400000LL},
      {"d", 86400000LL}, {"h", 3600000},          {"m", 60000},
      {"s", 1000}};
  if (text.empty()) return BadDuration(text, "empty");
  int64_t total = 0;
  int64_t last_unit = INT64_MAX;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return BadDuration(text, "expected a number, e.g. 5m");
    // Bounded by the total's bound, not by a digit count, so that every
    // duration accepted in any unit also reads in milliseconds.
    int64_t count = 0;
    for (size_t k = start; k < i; ++k) {
      if (count > INT64_MAX / 4 / 10) {
        return BadDuration(text, "number too large");
      }
      count = count * 10 + (text[k] - '0');
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i).starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return BadDuration(text, "expected a unit: ms, s, m, h, d, w or y");
    }
    if (unit->millis >= last_unit) {
      return BadDuration(text, "units must go from largest to smallest");
    }
    last_unit = unit->millis;
    if (count > (INT64_MAX / 4 - total) / unit->millis) {
      return BadDuration(text, "too long");
    }
    total += count * unit->millis;
    i += unit->name.size();
  }
  if (total <= 0) return BadDuration(text, "must be positive");
  return total;
}

absl::StatusOr<int64_t> ParsePromDuration(std::string_view text) {
  double seconds = 0;
  if (absl::SimpleAtod(absl::string_view(text.data(), text.size()), &seconds)) {
    if (!std::isfinite(seconds) || seconds * 1000 > kMaxMillis) {
      return BadDuration(text, "out of range");
    }
    int64_t millis = std::llround(seconds * 1000);
    if (millis <= 0) return BadDuration(text, "must be positive");
    return millis;
  }
  return ParseDurationWithUnits(text);
}

}  // namespace keel::tools
