#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/functions.h"
#include "core/query/internal/expr_parser.h"
#include "core/query/internal/go_text.h"
#include "core/query/internal/grammar.h"

namespace keel::query_internal {

using query::AggregateExpr;
using query::Call;
using query::ExprPtr;
using query::FindFunction;
using query::Function;

std::optional<std::vector<ExprPtr>> Parser::ParseCallBody() {
  Advance();  // (
  std::vector<ExprPtr> args;
  if (cur_.type == TokenType::kRightParen) {
    Advance();
    if (error_) return std::nullopt;
    return args;
  }
  for (;;) {
    ExprPtr arg = ParseExpr(0);
    if (!arg) return std::nullopt;
    args.push_back(std::move(arg));
    if (cur_.type == TokenType::kComma) {
      const uint32_t comma = cur_.pos;
      Advance();
      if (error_) return std::nullopt;
      if (cur_.type == TokenType::kRightParen) {
        Fail(comma, "trailing commas not allowed in function call args");
        return std::nullopt;
      }
      continue;
    }
    if (cur_.type != TokenType::kRightParen) {
      Unexpected("", "");
      return std::nullopt;
    }
    Advance();
    if (error_) return std::nullopt;
    return args;
  }
}

ExprPtr Parser::ParseCall() {
  const Token name = cur_;
  Advance();
  auto args = ParseCallBody();
  if (!args) return nullptr;
  const Function* f = FindFunction(name.text);
  if (f == nullptr) {
    Fail(name.pos,
         absl::StrCat("unknown function with name ", GoQuote(name.text)));
    return nullptr;
  }
  if (f->native_histogram) {
    Fail(name.pos, absl::StrCat("function ", GoQuote(name.text),
                                " is not supported: it reads native "
                                "histograms, which keel does not store"));
    return nullptr;
  }
  auto c = std::make_unique<Call>();
  c->func = f;
  c->args = std::move(*args);
  c->pos = {name.pos, last_end_};
  uint32_t h = 0;
  for (const ExprPtr& a : c->args) h = std::max(h, a->height);
  if (!SetHeightAbove(*c, h)) return nullptr;
  return c;
}

ExprPtr Parser::ParseAggregate() {
  const Token op = cur_;
  auto a = std::make_unique<AggregateExpr>();
  a->op = ToAggregateOp(op.type);
  Advance();
  bool grouped = false;
  auto parse_modifier = [&] {
    a->without = cur_.type == TokenType::kWithout;
    Advance();
    auto labels = ParseGroupingLabels();
    if (!labels) return false;
    a->grouping = std::move(*labels);
    grouped = true;
    return true;
  };
  if (cur_.type == TokenType::kBy || cur_.type == TokenType::kWithout) {
    if (!parse_modifier()) return nullptr;
  }
  if (cur_.type != TokenType::kLeftParen) {
    return error_ ? nullptr : Unexpected("aggregation", "");
  }
  auto args = ParseCallBody();
  if (!args) return nullptr;
  if (!grouped &&
      (cur_.type == TokenType::kBy || cur_.type == TokenType::kWithout)) {
    if (!parse_modifier()) return nullptr;
  }
  a->pos = {op.pos, last_end_};
  if (args->empty()) {
    Fail(op.pos, "no arguments for aggregate expression provided");
    return nullptr;
  }
  const std::size_t want = AggregateTakesParam(a->op) ? 2 : 1;
  if (args->size() != want) {
    Fail(op.pos,
         absl::StrCat("wrong number of arguments for aggregate expression "
                      "provided, expected ",
                      want, ", got ", args->size()));
    return nullptr;
  }
  if (want == 2) a->param = std::move((*args)[0]);
  a->expr = std::move(args->back());
  if (!SetHeight(*a, {a->expr.get(), a->param.get()})) return nullptr;
  return a;
}

}  // namespace keel::query_internal
