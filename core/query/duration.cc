#include "core/query/duration.h"

#include <array>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/query/internal/go_text.h"

namespace keel::query {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};

constexpr int64_t kDay = 24 * 3600 * 1000;
constexpr std::array<Unit, 7> kUnits{{{"y", 365 * kDay},
                                      {"w", 7 * kDay},
                                      {"d", kDay},
                                      {"h", 3600 * 1000},
                                      {"m", 60 * 1000},
                                      {"s", 1000},
                                      {"ms", 1}}};

// Go's time.Duration counts nanoseconds in an int64.
constexpr int64_t kMaxMs = std::numeric_limits<int64_t>::max() / 1000000;

}  // namespace

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  if (text == "0") return 0;
  if (text.empty()) return absl::InvalidArgumentError("empty duration string");
  auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a valid duration string: ", query_internal::GoQuote(text)));
  };
  int64_t total = 0;
  bool overflow = false;
  std::size_t next_unit = 0;  // units must come in kUnits' order, once each
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return invalid();
    const std::string_view digits = text.substr(start, i - start);
    const std::size_t unit_start = i;
    while (i < text.size() && (text[i] < '0' || text[i] > '9')) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    std::size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].name != unit) ++u;
    if (u == kUnits.size()) return invalid();
    next_unit = u + 1;
    int64_t n = 0;
    for (char c : digits) {
      if (n > kMaxMs) break;  // out of range whatever follows
      n = n * 10 + (c - '0');
    }
    if (n > kMaxMs / kUnits[u].ms || total > kMaxMs - n * kUnits[u].ms) {
      overflow = true;
    } else {
      total += n * kUnits[u].ms;
    }
  }
  if (overflow) return absl::InvalidArgumentError("duration out of range");
  return total;
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  for (std::size_t i = 0; i < kUnits.size(); ++i) {
    const bool whole_only = i < 2;  // y and w
    if (whole_only && ms % kUnits[i].ms != 0) continue;
    const int64_t v = ms / kUnits[i].ms;
    if (v > 0) {
      absl::StrAppend(&out, v, query_internal::AbslView(kUnits[i].name));
      ms -= v * kUnits[i].ms;
    }
  }
  return out;
}

}  // namespace keel::query
