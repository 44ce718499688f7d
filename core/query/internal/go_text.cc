#include "core/query/internal/go_text.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace keel::query_internal {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool InRange(unsigned char c, unsigned char lo, unsigned char hi) {
  return c >= lo && c <= hi;
}

// strconv.IsPrint for the runes a query is likely to hold: Go's tables are
// large, so this keeps the ranges that are not printable in practice
// (controls, the invisible spaces and format characters, private use,
// non-characters).
bool IsPrint(int32_t r) {
  if (r < 0x20 || (r >= 0x7F && r <= 0xA0) || r == 0xAD) return false;
  if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
      (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF) {
    return false;
  }
  if ((r >= 0xD800 && r <= 0xF8FF) || (r >= 0xFFF9 && r <= 0xFFFB)) {
    return false;
  }
  if ((r & 0xFFFE) == 0xFFFE || r >= 0xF0000) return false;
  return r <= 0x10FFFF;
}

void AppendUtf8(std::string& out, int32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

void AppendHex(std::string& out, uint32_t value, int digits) {
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
    out += kHex[(value >> shift) & 0xF];
  }
}

// strconv's appendEscapedRune.
void AppendEscapedRune(std::string& out, int32_t r, char quote) {
  if (r == quote || r == '\\') {
    out += '\\';
    out += static_cast<char>(r);
    return;
  }
  if (IsPrint(r)) {
    AppendUtf8(out, r);
    return;
  }
  switch (r) {
    case '\a':
      out += "\\a";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
  }
  if (r < ' ' || r == 0x7F) {
    out += "\\x";
    AppendHex(out, static_cast<uint32_t>(r), 2);
  } else if (r > 0x10FFFF || (r >= 0xD800 && r < 0xE000) || r < 0x10000) {
    if (r > 0x10FFFF || (r >= 0xD800 && r < 0xE000)) r = kRuneError;
    out += "\\u";
    AppendHex(out, static_cast<uint32_t>(r), 4);
  } else {
    out += "\\U";
    AppendHex(out, static_cast<uint32_t>(r), 8);
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Rune DecodeRune(std::string_view text, std::size_t pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  const std::size_t left = text.size() - pos;
  const unsigned char c = s[0];
  if (c < 0x80) return {c, 1};
  auto cont = [&](std::size_t i, unsigned char lo, unsigned char hi) {
    return i < left && InRange(s[i], lo, hi);
  };
  if (c >= 0xC2 && c <= 0xDF) {
    if (cont(1, 0x80, 0xBF)) return {((c & 0x1F) << 6) | (s[1] & 0x3F), 2};
  } else if (c >= 0xE0 && c <= 0xEF) {
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    if (cont(1, lo, hi) && cont(2, 0x80, 0xBF)) {
      return {((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F), 3};
    }
  } else if (c >= 0xF0 && c <= 0xF4) {
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    if (cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF)) {
      return {((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) |
                  ((s[2] & 0x3F) << 6) | (s[3] & 0x3F),
              4};
    }
  }
  return {kRuneError, 1};
}

std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    Rune r = DecodeRune(text, i);
    if (r.value == kRuneError && r.width == 1) {
      out += "\\x";
      AppendHex(out, static_cast<unsigned char>(text[i]), 2);
    } else {
      AppendEscapedRune(out, r.value, '"');
    }
    i += r.width;
  }
  out += '"';
  return out;
}

std::string GoQuoteRune(int32_t rune) {
  std::string out = "'";
  AppendEscapedRune(out, rune, '\'');
  out += '\'';
  return out;
}

std::string GoRuneU(int32_t rune) {
  std::string out = "U+";
  int digits = 4;
  while (digits < 8 && (static_cast<uint32_t>(rune) >> (4 * digits)) != 0) {
    ++digits;
  }
  AppendHex(out, static_cast<uint32_t>(rune), digits);
  for (char& c : out) c = static_cast<char>(std::toupper(c));
  if (IsPrint(rune)) {
    out += " '";
    AppendUtf8(out, rune);
    out += '\'';
  }
  return out;
}

std::string GoFormatFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest digits that read back as the same double (strconv's
  // shortest form), laid out as its 'g' does when shortest: an exponent
  // below -4 or of 6 and more is written as e-XX / e+XX.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::fabs(value),
                                 std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(end - buf));
  const std::size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  const int exp = std::atoi(std::string(sci.substr(e + 1)).c_str());
  std::string out = std::signbit(value) ? "-" : "";
  const int nd = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (nd > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += exp < 0 ? "e-" : "e+";
    const int a = exp < 0 ? -exp : exp;
    if (a < 10) out += '0';
    out += std::to_string(a);
    return out;
  }
  const int dp = exp + 1;  // digits before the point
  if (dp <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-dp), '0');
    out += digits;
  } else if (dp >= nd) {
    out += digits;
    out.append(static_cast<std::size_t>(dp - nd), '0');
  } else {
    out += digits.substr(0, static_cast<std::size_t>(dp));
    out += '.';
    out += digits.substr(static_cast<std::size_t>(dp));
  }
  return out;
}

std::string GoFormatFixed(double value, int decimals) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

absl::StatusOr<std::string> UnquotePromString(std::string_view token) {
  auto syntax = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "error unquoting string ", GoQuote(token), ": invalid syntax"));
  };
  if (token.size() < 2 || token.front() != token.back()) return syntax();
  const char quote = token.front();
  std::string_view s = token.substr(1, token.size() - 2);
  if (quote == '`') {
    if (s.find('`') != std::string_view::npos) return syntax();
    return std::string(s);
  }
  if ((quote != '"' && quote != '\'') || s.find('\n') != s.npos) {
    return syntax();
  }
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == quote) return syntax();
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return syntax();
    const char e = s[i + 1];
    i += 2;
    switch (e) {
      case 'a':
        out += '\a';
        continue;
      case 'b':
        out += '\b';
        continue;
      case 'f':
        out += '\f';
        continue;
      case 'n':
        out += '\n';
        continue;
      case 'r':
        out += '\r';
        continue;
      case 't':
        out += '\t';
        continue;
      case 'v':
        out += '\v';
        continue;
      case '\\':
        out += '\\';
        continue;
      case '\'':
      case '"':
        if (e != quote) return syntax();
        out += e;
        continue;
    }
    int digits = 0;
    int base = 16;
    if (e == 'x') {
      digits = 2;
    } else if (e == 'u') {
      digits = 4;
    } else if (e == 'U') {
      digits = 8;
    } else if (e >= '0' && e <= '7') {
      digits = 3;
      base = 8;
      --i;  // the first octal digit is part of the value
    } else {
      return syntax();
    }
    if (i + static_cast<std::size_t>(digits) > s.size()) return syntax();
    uint32_t v = 0;
    for (int k = 0; k < digits; ++k) {
      const int d = HexValue(s[i + static_cast<std::size_t>(k)]);
      if (d < 0 || d >= base) return syntax();
      v = v * static_cast<uint32_t>(base) + static_cast<uint32_t>(d);
    }
    i += static_cast<std::size_t>(digits);
    if (e == 'x' || base == 8) {
      if (v > 255) return syntax();
      out += static_cast<char>(v);  // a byte, not a rune, as in Go
    } else {
      if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) return syntax();
      AppendUtf8(out, static_cast<int32_t>(v));
    }
  }
  return out;
}

namespace {

// strconv.ParseFloat's syntax for what the lexer passes as a decimal
// number: digits, an optional fraction, an optional exponent.
bool IsDecimalFloat(std::string_view s) {
  std::size_t i = 0;
  std::size_t mantissa = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++mantissa;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++mantissa;
  }
  if (mantissa == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t digits = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == digits) return false;
  }
  return i == s.size();
}

// strconv.ParseInt(s, 0, 64) on a lexed number: 0x hex, 0-led octal,
// decimal. Empty when it is not such an integer or does not fit.
std::optional<int64_t> ParseGoInt(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  for (char c : s) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : 99;
    if (d >= base) return std::nullopt;
    if (v > (kMax - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      return std::nullopt;
    }
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return static_cast<int64_t>(v);
}

}  // namespace

std::optional<double> ParseGoNumber(std::string_view text, std::string* error) {
  if (auto i = ParseGoInt(text)) return static_cast<double>(*i);
  const std::string s(text);
  const bool word = s.size() == 3 &&
                    (s[0] == 'i' || s[0] == 'I' || s[0] == 'n' || s[0] == 'N');
  if (word || IsDecimalFloat(s)) {
    const double v = std::strtod(s.c_str(), nullptr);
    if (word || !std::isinf(v)) return v;
    *error = absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(text),
                          ": value out of range");
    return std::nullopt;
  }
  *error = absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(text),
                        ": invalid syntax");
  return std::nullopt;
}

}  // namespace keel::query_internal
