// PromQL's tokens as Prometheus 2.42's promql/parser/lex.go names them,
// and how its parser names one in "unexpected ..." messages. The lexer
// (lexer.h) makes them; the parser reads them.
//
// Thread safety: plain values; pure functions.
#ifndef KEEL_CORE_QUERY_INTERNAL_TOKEN_H_
#define KEEL_CORE_QUERY_INTERNAL_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::query_internal {

enum class TokenType {
  kEof,
  kError,
  kComment,
  kIdentifier,
  kMetricIdentifier,
  kString,
  kNumber,
  kDuration,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kEql,  // = (in braces)
  kColon,
  // Operators.
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEqlc,
  kNeq,
  kLte,
  kLss,
  kGte,
  kGtr,
  kEqlRegex,
  kNeqRegex,
  kAnd,
  kOr,
  kUnless,
  kAtan2,
  kAt,
  // Aggregators.
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kCountValues,
  kQuantile,
  // Keywords.
  kBool,
  kBy,
  kGroupLeft,
  kGroupRight,
  kIgnoring,
  kOffset,
  kOn,
  kWithout,
  // Preprocessors of `@`.
  kStart,
  kEnd,
};

bool IsOperator(TokenType t);
bool IsAggregator(TokenType t);
bool IsKeyword(TokenType t);

struct Token {
  TokenType type = TokenType::kEof;
  uint32_t pos = 0;       // byte offset of its first byte
  std::string_view text;  // as written (empty for kError)
  std::string error;      // kError's message

  uint32_t end() const { return pos + static_cast<uint32_t>(text.size()); }
};

// How Prometheus' parser names a token in "unexpected ..." messages:
// `end of input`, `<op:+>`, `<aggr:sum>`, `<by>`, `"("`,
// `identifier "foo"`, `number "1"`, `string "\"abcdefghi"...`.
std::string DescribeToken(const Token& token);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_TOKEN_H_
