#include "core/query/internal/lexer.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/query/internal/go_text.h"

namespace keel::query_internal {
namespace {

constexpr int32_t kEofRune = -1;
constexpr std::string_view kDigits = "0123456789";
constexpr std::string_view kHexDigits = "0123456789abcdefABCDEF";

bool IsSpace(int32_t r) {
  return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}
bool IsDigit(int32_t r) { return r >= '0' && r <= '9'; }
bool IsAlpha(int32_t r) {
  return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}
bool IsAlphaNumeric(int32_t r) { return IsAlpha(r) || IsDigit(r); }

int DigitValue(int32_t r) {
  if (r >= '0' && r <= '9') return r - '0';
  if (r >= 'a' && r <= 'f') return r - 'a' + 10;
  if (r >= 'A' && r <= 'F') return r - 'A' + 10;
  return 16;
}

struct Keyword {
  std::string_view word;
  TokenType type;
};
constexpr std::array<Keyword, 28> kKeywords{{
    {"and", TokenType::kAnd},
    {"or", TokenType::kOr},
    {"unless", TokenType::kUnless},
    {"atan2", TokenType::kAtan2},
    {"sum", TokenType::kSum},
    {"avg", TokenType::kAvg},
    {"count", TokenType::kCount},
    {"min", TokenType::kMin},
    {"max", TokenType::kMax},
    {"group", TokenType::kGroup},
    {"stddev", TokenType::kStddev},
    {"stdvar", TokenType::kStdvar},
    {"topk", TokenType::kTopk},
    {"bottomk", TokenType::kBottomk},
    {"count_values", TokenType::kCountValues},
    {"quantile", TokenType::kQuantile},
    {"offset", TokenType::kOffset},
    {"by", TokenType::kBy},
    {"without", TokenType::kWithout},
    {"on", TokenType::kOn},
    {"ignoring", TokenType::kIgnoring},
    {"group_left", TokenType::kGroupLeft},
    {"group_right", TokenType::kGroupRight},
    {"bool", TokenType::kBool},
    {"start", TokenType::kStart},
    {"end", TokenType::kEnd},
    {"inf", TokenType::kNumber},
    {"nan", TokenType::kNumber},
}};

}  // namespace

int32_t Lexer::NextRune() {
  if (pos_ >= input_.size()) {
    width_ = 0;
    return kEofRune;
  }
  Rune r = DecodeRune(input_, pos_);
  width_ = static_cast<uint32_t>(r.width);
  pos_ += width_;
  return r.value;
}

int32_t Lexer::PeekRune() {
  int32_t r = NextRune();
  Backup();
  return r;
}

bool Lexer::Accept(std::string_view valid) {
  int32_t r = NextRune();
  if (r >= 0 && r < 0x80 && valid.find(static_cast<char>(r)) != valid.npos) {
    return true;
  }
  Backup();
  return false;
}

void Lexer::AcceptRun(std::string_view valid) {
  while (Accept(valid)) {
  }
}

Token Lexer::Emit(TokenType type) {
  Token t;
  t.type = type;
  t.pos = start_;
  t.text = input_.substr(start_, pos_ - start_);
  start_ = pos_;
  return t;
}

Token Lexer::Error(std::string message) {
  Token t;
  t.type = TokenType::kError;
  t.pos = start_;
  t.error = std::move(message);
  done_ = true;
  return t;
}

void Lexer::SkipSpaces() {
  while (IsSpace(PeekRune())) NextRune();
  start_ = pos_;
}

Token Lexer::Next() {
  if (done_) {
    start_ = pos_;
    return Emit(TokenType::kEof);
  }
  if (pending_duration_) {
    pending_duration_ = false;
    return LexDuration();
  }
  return brace_open_ ? LexInsideBraces() : LexStatement();
}

Token Lexer::LexStatement() {
  for (;;) {
    if (input_.substr(pos_).starts_with('#')) return LexComment();
    const int32_t r = NextRune();
    if (r == kEofRune) {
      if (paren_depth_ != 0) return Error("unclosed left parenthesis");
      if (bracket_open_) return Error("unclosed left bracket");
      done_ = true;
      return Emit(TokenType::kEof);
    }
    if (IsSpace(r)) {
      SkipSpaces();
      continue;
    }
    switch (r) {
      case ',':
        return Emit(TokenType::kComma);
      case '*':
        return Emit(TokenType::kMul);
      case '/':
        return Emit(TokenType::kDiv);
      case '%':
        return Emit(TokenType::kMod);
      case '+':
        return Emit(TokenType::kAdd);
      case '-':
        return Emit(TokenType::kSub);
      case '^':
        return Emit(TokenType::kPow);
      case '@':
        return Emit(TokenType::kAt);
      case '=': {
        const int32_t t = PeekRune();
        if (t == '=') {
          NextRune();
          return Emit(TokenType::kEqlc);
        }
        if (t == '~') {
          return Error(
              absl::StrCat("unexpected character after '=': ", GoQuoteRune(t)));
        }
        return Emit(TokenType::kEql);
      }
      case '!': {
        const int32_t t = NextRune();
        if (t == '=') return Emit(TokenType::kNeq);
        return Error(
            absl::StrCat("unexpected character after '!': ", GoQuoteRune(t)));
      }
      case '<':
        if (PeekRune() == '=') {
          NextRune();
          return Emit(TokenType::kLte);
        }
        return Emit(TokenType::kLss);
      case '>':
        if (PeekRune() == '=') {
          NextRune();
          return Emit(TokenType::kGte);
        }
        return Emit(TokenType::kGtr);
      case '"':
      case '\'':
        return LexString(static_cast<char>(r));
      case '`':
        return LexRawString();
      case '(':
        ++paren_depth_;
        return Emit(TokenType::kLeftParen);
      case ')': {
        Token t = Emit(TokenType::kRightParen);
        if (--paren_depth_ < 0) {
          return Error(
              absl::StrCat("unexpected right parenthesis ", GoQuoteRune(r)));
        }
        return t;
      }
      case '{':
        brace_open_ = true;
        return Emit(TokenType::kLeftBrace);
      case '[': {
        if (bracket_open_) {
          return Error(
              absl::StrCat("unexpected left bracket ", GoQuoteRune(r)));
        }
        got_colon_ = false;
        Token t = Emit(TokenType::kLeftBracket);
        SkipSpaces();
        bracket_open_ = true;
        // The range that follows is a duration: Prometheus lexes it at once.
        pending_duration_ = true;
        return t;
      }
      case ']':
        if (!bracket_open_) {
          return Error(
              absl::StrCat("unexpected right bracket ", GoQuoteRune(r)));
        }
        bracket_open_ = false;
        return Emit(TokenType::kRightBracket);
      default:
        break;
    }
    if (IsDigit(r) || (r == '.' && IsDigit(PeekRune()))) {
      Backup();
      return LexNumberOrDuration();
    }
    if (IsAlpha(r) || r == ':') {
      if (!bracket_open_) {
        Backup();
        return LexKeywordOrIdentifier();
      }
      // Inside brackets any letter stands for the colon, as in Prometheus.
      if (got_colon_) {
        return Error(absl::StrCat("unexpected colon ", GoQuoteRune(r)));
      }
      got_colon_ = true;
      return Emit(TokenType::kColon);
    }
    return Error(absl::StrCat("unexpected character: ", GoQuoteRune(r)));
  }
}

Token Lexer::LexInsideBraces() {
  for (;;) {
    if (input_.substr(pos_).starts_with('#')) return LexComment();
    const int32_t r = NextRune();
    if (r == kEofRune) return Error("unexpected end of input inside braces");
    if (IsSpace(r)) {
      SkipSpaces();
      continue;
    }
    if (IsAlpha(r)) {
      while (IsAlphaNumeric(NextRune())) {
      }
      Backup();
      return Emit(TokenType::kIdentifier);
    }
    switch (r) {
      case ',':
        return Emit(TokenType::kComma);
      case '"':
      case '\'':
        return LexString(static_cast<char>(r));
      case '`':
        return LexRawString();
      case '=':
        if (NextRune() == '~') return Emit(TokenType::kEqlRegex);
        Backup();
        return Emit(TokenType::kEql);
      case '!': {
        const int32_t n = NextRune();
        if (n == '~') return Emit(TokenType::kNeqRegex);
        if (n == '=') return Emit(TokenType::kNeq);
        return Error(absl::StrCat(
            "unexpected character after '!' inside braces: ", GoQuoteRune(n)));
      }
      case '{':
        return Error(absl::StrCat("unexpected left brace ", GoQuoteRune(r)));
      case '}':
        brace_open_ = false;
        return Emit(TokenType::kRightBrace);
      default:
        return Error(absl::StrCat("unexpected character inside braces: ",
                                  GoQuoteRune(r)));
    }
  }
}

std::string Lexer::LexEscape(char quote) {
  int32_t ch = NextRune();
  int n = 0;
  uint32_t base = 0;
  uint32_t max = 0;
  switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
      return "";
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
      n = 3, base = 8, max = 255;
      break;
    case 'x':
      ch = NextRune();
      n = 2, base = 16, max = 255;
      break;
    case 'u':
      ch = NextRune();
      n = 4, base = 16, max = 0x10FFFF;
      break;
    case 'U':
      ch = NextRune();
      n = 8, base = 16, max = 0x10FFFF;
      break;
    case kEofRune:
      return "escape sequence not terminated";
    default:
      if (ch == quote) return "";
      return absl::StrCat("unknown escape sequence ", GoRuneU(ch));
  }
  uint32_t x = 0;
  while (n > 0) {
    const uint32_t d = static_cast<uint32_t>(DigitValue(ch));
    if (d >= base) {
      if (ch == kEofRune) return "escape sequence not terminated";
      return absl::StrCat("illegal character ", GoRuneU(ch),
                          " in escape sequence");
    }
    x = x * base + d;
    if (--n > 0) ch = NextRune();
  }
  if (x > max || (x >= 0xD800 && x < 0xE000)) {
    return "escape sequence is an invalid Unicode code point";
  }
  return "";
}

Token Lexer::LexString(char quote) {
  for (;;) {
    const int32_t r = NextRune();
    if (r == '\\') {
      std::string error = LexEscape(quote);
      if (!error.empty()) return Error(std::move(error));
    } else if (r == kRuneError) {
      return Error("invalid UTF-8 rune");
    } else if (r == kEofRune || r == '\n') {
      return Error("unterminated quoted string");
    } else if (r == quote) {
      return Emit(TokenType::kString);
    }
  }
}

Token Lexer::LexRawString() {
  for (;;) {
    const int32_t r = NextRune();
    if (r == kRuneError) return Error("invalid UTF-8 rune");
    if (r == kEofRune) return Error("unterminated raw string");
    if (r == '`') return Emit(TokenType::kString);
  }
}

Token Lexer::LexComment() {
  ++pos_;  // '#'
  for (int32_t r = NextRune(); r != '\r' && r != '\n' && r != kEofRune;) {
    r = NextRune();
  }
  Backup();
  return Emit(TokenType::kComment);
}

Token Lexer::LexDuration() {
  if (ScanNumber()) return Error("missing unit character in duration");
  if (!AcceptRemainingDuration()) {
    return Error(absl::StrCat("bad duration syntax: ",
                              GoQuote(input_.substr(start_, pos_ - start_))));
  }
  Backup();
  return Emit(TokenType::kDuration);
}

Token Lexer::LexNumberOrDuration() {
  if (ScanNumber()) return Emit(TokenType::kNumber);
  if (AcceptRemainingDuration()) {
    Backup();
    return Emit(TokenType::kDuration);
  }
  return Error(absl::StrCat("bad number or duration syntax: ",
                            GoQuote(input_.substr(start_, pos_ - start_))));
}

bool Lexer::AcceptRemainingDuration() {
  if (!Accept("smhdwy")) return false;
  Accept("s");  // ms
  while (Accept(kDigits)) {
    AcceptRun(kDigits);
    if (!Accept("smhdw")) return false;
    Accept("s");
  }
  return !IsAlphaNumeric(NextRune());
}

bool Lexer::ScanNumber() {
  std::string_view digits = kDigits;
  if (Accept("0") && Accept("xX")) digits = kHexDigits;
  AcceptRun(digits);
  if (Accept(".")) AcceptRun(digits);
  if (Accept("eE")) {
    Accept("+-");
    AcceptRun(kDigits);
  }
  return !IsAlphaNumeric(PeekRune());
}

Token Lexer::LexKeywordOrIdentifier() {
  for (;;) {
    const int32_t r = NextRune();
    if (!IsAlphaNumeric(r) && r != ':') break;
  }
  Backup();
  const std::string_view word = input_.substr(start_, pos_ - start_);
  const std::string lower = absl::AsciiStrToLower(AbslView(word));
  for (const Keyword& k : kKeywords) {
    if (k.word == lower) return Emit(k.type);
  }
  return Emit(word.find(':') == word.npos ? TokenType::kIdentifier
                                          : TokenType::kMetricIdentifier);
}

}  // namespace keel::query_internal
