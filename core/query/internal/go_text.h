// Text as Go's strconv and fmt write and read it, which Prometheus' parser
// and printer use: keel's output must match theirs byte for byte (the API
// returns these strings, and tests compare them with Prometheus').
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_QUERY_INTERNAL_GO_TEXT_H_
#define KEEL_CORE_QUERY_INTERNAL_GO_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace keel::query_internal {

// Debian's Abseil has its own string_view, which absl::StrCat needs.
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Go's utf8.RuneError, which DecodeRune also returns for a bad byte.
inline constexpr int32_t kRuneError = 0xFFFD;

// Decodes the rune at text[pos] as Go's utf8.DecodeRuneInString: a bad
// sequence yields {kRuneError, 1}. REQUIRES: pos < text.size().
struct Rune {
  int32_t value;
  std::size_t width;
};
Rune DecodeRune(std::string_view text, std::size_t pos);

// strconv.Quote: double-quoted, with Go escapes for what is not printable.
std::string GoQuote(std::string_view text);
// fmt's %q on a rune: 'x', '\n', '\x00'.
std::string GoQuoteRune(int32_t rune);
// fmt's %#U: U+0063 'c' (the quoted form only when printable).
std::string GoRuneU(int32_t rune);

// fmt's %v on a float64 (strconv 'g', shortest): 1, 0.5, 1e+06, +Inf, NaN.
std::string GoFormatFloat(double value);
// fmt's %f (6 decimals), and %.3f: +Inf, -Inf and NaN as Go spells them.
std::string GoFormatFixed(double value, int decimals);

// strutil.Unquote on a lexed PromQL string token (quotes included): Go
// escapes in "..." and '...', none in `...`.
absl::StatusOr<std::string> UnquotePromString(std::string_view token);

// Prometheus' number() on a lexed number: strconv.ParseInt(text, 0, 64)
// first (0x hex, 0-led octal, decimal), else strconv.ParseFloat. Empty,
// with strconv's error text in `error`, when neither reads it.
std::optional<double> ParseGoNumber(std::string_view text, std::string* error);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_GO_TEXT_H_
