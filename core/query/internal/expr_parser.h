// The PromQL parser behind ParseExpr and ParseMetricSelector
// (core/query/parser.h): recursive descent over the lexer's tokens with
// precedence climbing for binary operators, Prometheus 2.42's grammar
// (promql/parser/generated_parser.y) rule for rule. It records the first
// error, as Prometheus does, and every later step returns at once.
//
// Its parts live by concern: expr_parser.cc (tokens, errors, operators and
// primaries), expr_parser_selectors.cc (selectors, matchers, label lists),
// expr_parser_calls.cc (function calls and aggregations),
// expr_parser_modifiers.cc (ranges, subqueries, offset and @).
//
// Thread safety: one Parser per parse; it borrows `input` and `limits`.
#ifndef KEEL_CORE_QUERY_INTERNAL_EXPR_PARSER_H_
#define KEEL_CORE_QUERY_INTERNAL_EXPR_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/query/ast.h"
#include "core/query/internal/lexer.h"
#include "core/query/internal/parse_error.h"
#include "core/query/parser.h"
#include "core/series/matcher.h"

namespace keel::query_internal {

class Parser {
 public:
  Parser(std::string_view input, const query::ParseLimits& limits);

  // The whole input as one expression, type-checked; null on error.
  query::ExprPtr ParseRoot();
  // The whole input as one selector's matchers; empty on error.
  std::optional<std::vector<core::Matcher>> ParseSelectorOnly();

  const std::optional<ParseError>& error() const { return error_; }

 private:
  using Expr = query::Expr;
  using ExprPtr = query::ExprPtr;
  using BinaryExpr = query::BinaryExpr;
  using VectorSelector = query::VectorSelector;
  using TimeModifiers = query::TimeModifiers;

  Token LexToken();
  // Moves to the next token; a lexer error there is the parse's error, as
  // Prometheus records it on reading the token.
  void Advance();
  // The token after the current one.
  const Token& Peek();
  void Fail(uint32_t pos, std::string message);
  // "unexpected <token>[ in <context>][, expected <expected>]".
  std::nullptr_t Unexpected(std::string_view context,
                            std::string_view expected);
  bool SetHeight(Expr& e, std::initializer_list<const Expr*> children);
  bool SetHeightAbove(Expr& e, uint32_t tallest_child);
  std::string TooDeep() const;

  ExprPtr ParseExpr(int min_precedence);
  ExprPtr ParseBinary(int min_precedence);
  bool ParseBinModifiers(BinaryExpr& b);
  ExprPtr ParseUnary();
  ExprPtr ParsePrimary();
  bool Unquote(const Token& token, std::string* out);

  // `name`, `name{...}` or `{...}` at the current token.
  ExprPtr ParseSelector();
  bool ParseLabelMatchers(VectorSelector& vs);
  // `(a, b)`, `()`, a trailing comma allowed.
  std::optional<std::vector<std::string>> ParseGroupingLabels();

  // `(args)` at the current `(`.
  std::optional<std::vector<ExprPtr>> ParseCallBody();
  ExprPtr ParseCall();
  ExprPtr ParseAggregate();

  // A duration token's value: positive, as ranges, steps and offsets are.
  std::optional<int64_t> DurationValue(const Token& t);
  // `[range]`, `[range:step]`, `offset d`, `@ t` after an expression.
  ExprPtr ParsePostfix(ExprPtr e);
  ExprPtr ParseRange(ExprPtr e);
  // The offset and @ of what they may follow, or null after failing with
  // `what` ("offset modifier" or "@ modifier").
  TimeModifiers* TimeOf(Expr& e, std::string_view what);
  ExprPtr ParseOffset(ExprPtr e);
  ExprPtr ParseAt(ExprPtr e);

  std::string_view input_;
  const query::ParseLimits& limits_;
  Lexer lexer_;
  Token cur_;
  std::optional<Token> next_;
  uint32_t last_end_ = 0;
  uint32_t nesting_ = 0;
  std::optional<ParseError> error_;
};

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_EXPR_PARSER_H_
