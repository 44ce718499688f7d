#include "core/query/internal/expr_parser.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/internal/checker.h"
#include "core/query/internal/go_text.h"
#include "core/query/internal/grammar.h"

namespace keel::query_internal {

using query::BinaryExpr;
using query::Cardinality;
using query::ExprKind;
using query::ExprPtr;
using query::NumberLiteral;
using query::ParenExpr;
using query::StringLiteral;
using query::UnaryExpr;

Parser::Parser(std::string_view input, const query::ParseLimits& limits)
    : input_(input), limits_(limits), lexer_(input) {
  cur_ = LexToken();
  if (cur_.type == TokenType::kError) Fail(cur_.pos, cur_.error);
}

ExprPtr Parser::ParseRoot() {
  if (error_) return nullptr;
  if (cur_.type == TokenType::kEof) {
    Fail(0, "no expression found in input");
    return nullptr;
  }
  ExprPtr e = ParseExpr(0);
  if (!e) return nullptr;
  if (cur_.type != TokenType::kEof) return Unexpected("", "");
  if (auto err = CheckAst(*e, input_)) {
    error_ = std::move(err);
    return nullptr;
  }
  return e;
}

std::optional<std::vector<core::Matcher>> Parser::ParseSelectorOnly() {
  if (error_) return std::nullopt;
  if (!IsMetricNameToken(cur_.type) && cur_.type != TokenType::kLeftBrace) {
    Unexpected("", "");
    return std::nullopt;
  }
  ExprPtr e = ParseSelector();
  if (!e) return std::nullopt;
  if (cur_.type != TokenType::kEof) {
    Unexpected("", "");
    return std::nullopt;
  }
  return std::move(e->As<VectorSelector>().matchers);
}

Token Parser::LexToken() {
  Token t = lexer_.Next();
  while (t.type == TokenType::kComment) t = lexer_.Next();
  return t;
}

void Parser::Advance() {
  last_end_ = cur_.end();
  if (next_) {
    cur_ = std::move(*next_);
    next_.reset();
  } else {
    cur_ = LexToken();
  }
  if (cur_.type == TokenType::kError) Fail(cur_.pos, cur_.error);
}

const Token& Parser::Peek() {
  if (!next_) {
    next_ = LexToken();
    if (next_->type == TokenType::kError) Fail(next_->pos, next_->error);
  }
  return *next_;
}

void Parser::Fail(uint32_t pos, std::string message) {
  if (!error_) error_ = ParseError{pos, std::move(message)};
}

std::nullptr_t Parser::Unexpected(std::string_view context,
                                  std::string_view expected) {
  std::string m = absl::StrCat("unexpected ", DescribeToken(cur_));
  if (!context.empty()) absl::StrAppend(&m, " in ", AbslView(context));
  if (!expected.empty()) absl::StrAppend(&m, ", expected ", AbslView(expected));
  Fail(cur_.pos, std::move(m));
  return nullptr;
}

bool Parser::SetHeight(Expr& e, std::initializer_list<const Expr*> children) {
  uint32_t h = 0;
  for (const Expr* c : children) {
    if (c != nullptr && c->height > h) h = c->height;
  }
  return SetHeightAbove(e, h);
}

bool Parser::SetHeightAbove(Expr& e, uint32_t tallest_child) {
  e.height = tallest_child + 1;
  if (e.height > limits_.max_height) {
    Fail(e.pos.start, TooDeep());
    return false;
  }
  return true;
}

std::string Parser::TooDeep() const {
  return absl::StrCat("expression nests more than ", limits_.max_height,
                      " levels deep");
}

ExprPtr Parser::ParseExpr(int min_precedence) {
  if (error_) return nullptr;
  if (nesting_ >= limits_.max_height) {
    Fail(cur_.pos, TooDeep());
    return nullptr;
  }
  ++nesting_;
  ExprPtr e = ParseBinary(min_precedence);
  --nesting_;
  return e;
}

ExprPtr Parser::ParseBinary(int min_precedence) {
  ExprPtr lhs = ParseUnary();
  while (lhs != nullptr) {
    const int prec = Precedence(cur_.type);
    if (prec == 0 || prec < min_precedence) break;
    auto b = std::make_unique<BinaryExpr>();
    b->op = ToBinaryOp(cur_.type);
    Advance();
    if (error_ || !ParseBinModifiers(*b)) return nullptr;
    ExprPtr rhs = ParseExpr(prec == kPowPrecedence ? prec : prec + 1);
    if (!rhs) return nullptr;
    b->pos = {lhs->pos.start, rhs->pos.end};
    b->lhs = std::move(lhs);
    b->rhs = std::move(rhs);
    if (!SetHeight(*b, {b->lhs.get(), b->rhs.get()})) return nullptr;
    lhs = std::move(b);
  }
  return lhs;
}

bool Parser::ParseBinModifiers(BinaryExpr& b) {
  b.matching.emplace();
  if (cur_.type == TokenType::kBool) {
    b.return_bool = true;
    Advance();
  }
  if (cur_.type == TokenType::kOn || cur_.type == TokenType::kIgnoring) {
    b.matching->on = cur_.type == TokenType::kOn;
    Advance();
    auto labels = ParseGroupingLabels();
    if (!labels) return false;
    b.matching->matching_labels = std::move(*labels);
    if (cur_.type == TokenType::kGroupLeft ||
        cur_.type == TokenType::kGroupRight) {
      b.matching->card = cur_.type == TokenType::kGroupLeft
                             ? Cardinality::kManyToOne
                             : Cardinality::kOneToMany;
      Advance();
      if (cur_.type == TokenType::kLeftParen) {
        auto include = ParseGroupingLabels();
        if (!include) return false;
        b.matching->include = std::move(*include);
      }
    }
  }
  return !error_;
}

ExprPtr Parser::ParseUnary() {
  if (error_) return nullptr;
  if (cur_.type != TokenType::kAdd && cur_.type != TokenType::kSub) {
    return ParsePostfix(ParsePrimary());
  }
  const Token sign = cur_;
  Advance();
  ExprPtr operand = ParseExpr(kPowPrecedence);
  if (!operand) return nullptr;
  const bool negate = sign.type == TokenType::kSub;
  if (operand->kind() == ExprKind::kNumberLiteral) {
    auto& n = operand->As<NumberLiteral>();
    if (negate) n.value = -n.value;
    n.pos.start = sign.pos;
    return operand;
  }
  auto u = std::make_unique<UnaryExpr>();
  u->negate = negate;
  u->pos = {sign.pos, operand->pos.end};
  u->expr = std::move(operand);
  if (!SetHeight(*u, {u->expr.get()})) return nullptr;
  return u;
}

ExprPtr Parser::ParsePrimary() {
  if (error_) return nullptr;
  const TokenType t = cur_.type;
  if (t == TokenType::kNumber) {
    std::string error;
    auto v = ParseGoNumber(cur_.text, &error);
    if (!v) {
      Fail(cur_.pos, absl::StrCat("error parsing number: ", error));
      return nullptr;
    }
    auto n = std::make_unique<NumberLiteral>();
    n->value = *v;
    n->pos = {cur_.pos, cur_.end()};
    Advance();
    return n;
  }
  if (t == TokenType::kString) {
    auto s = std::make_unique<StringLiteral>();
    if (!Unquote(cur_, &s->value)) return nullptr;
    s->pos = {cur_.pos, cur_.end()};
    Advance();
    return s;
  }
  if (t == TokenType::kLeftParen) {
    auto p = std::make_unique<ParenExpr>();
    p->pos.start = cur_.pos;
    Advance();
    p->expr = ParseExpr(0);
    if (!p->expr) return nullptr;
    if (cur_.type != TokenType::kRightParen) return Unexpected("", "");
    Advance();
    p->pos.end = last_end_;
    if (!SetHeight(*p, {p->expr.get()})) return nullptr;
    return p;
  }
  if (t == TokenType::kLeftBrace) return ParseSelector();
  if (t == TokenType::kIdentifier) {
    if (Peek().type == TokenType::kLeftParen) return ParseCall();
    return error_ ? nullptr : ParseSelector();
  }
  if (IsAggregator(t)) {
    const TokenType next = Peek().type;
    if (error_) return nullptr;
    if (next == TokenType::kLeftParen || next == TokenType::kBy ||
        next == TokenType::kWithout) {
      return ParseAggregate();
    }
    if (CanFollowMetricName(next)) return ParseSelector();
    Advance();
    return error_ ? nullptr : Unexpected("aggregation", "");
  }
  if (IsMetricNameToken(t)) return ParseSelector();
  return Unexpected("", "");
}

bool Parser::Unquote(const Token& token, std::string* out) {
  auto s = UnquotePromString(token.text);
  if (!s.ok()) {
    Fail(token.pos, std::string(s.status().message()));
    return false;
  }
  *out = std::move(*s);
  return true;
}

}  // namespace keel::query_internal
