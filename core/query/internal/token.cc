#include "core/query/internal/token.h"

#include "absl/strings/str_cat.h"
#include "core/query/internal/go_text.h"

namespace keel::query_internal {
namespace {

// Go's %.10q: the first 10 runes, quoted.
std::string QuoteTruncated(std::string_view text) {
  std::size_t i = 0;
  for (int runes = 0; runes < 10 && i < text.size(); ++runes) {
    i += DecodeRune(text, i).width;
  }
  return GoQuote(text.substr(0, i));
}

}  // namespace

bool IsOperator(TokenType t) {
  return t >= TokenType::kAdd && t <= TokenType::kAt;
}
bool IsAggregator(TokenType t) {
  return t >= TokenType::kSum && t <= TokenType::kQuantile;
}
bool IsKeyword(TokenType t) {
  return t >= TokenType::kBool && t <= TokenType::kWithout;
}

std::string DescribeToken(const Token& token) {
  switch (token.type) {
    case TokenType::kEof:
      return "end of input";
    case TokenType::kError:
      return token.error;
    case TokenType::kIdentifier:
      return absl::StrCat("identifier ", GoQuote(token.text));
    case TokenType::kMetricIdentifier:
      return absl::StrCat("metric identifier ", GoQuote(token.text));
    case TokenType::kComment:
    case TokenType::kString:
    case TokenType::kNumber:
    case TokenType::kDuration: {
      std::string_view kind = token.type == TokenType::kComment  ? "comment"
                              : token.type == TokenType::kString ? "string"
                              : token.type == TokenType::kNumber ? "number"
                                                                 : "duration";
      if (token.text.size() > 10) {
        return absl::StrCat(AbslView(kind), " ", QuoteTruncated(token.text),
                            "...");
      }
      return absl::StrCat(AbslView(kind), " ", GoQuote(token.text));
    }
    default:
      break;
  }
  if (IsKeyword(token.type))
    return absl::StrCat("<", AbslView(token.text), ">");
  if (IsOperator(token.type))
    return absl::StrCat("<op:", AbslView(token.text), ">");
  if (IsAggregator(token.type))
    return absl::StrCat("<aggr:", AbslView(token.text), ">");
  if (token.text.size() > 10) {
    return absl::StrCat(QuoteTruncated(token.text), "...");
  }
  return GoQuote(token.text);
}

}  // namespace keel::query_internal
