#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/duration.h"
#include "core/query/internal/expr_parser.h"
#include "core/query/internal/go_text.h"

namespace keel::query_internal {

using query::AtModifier;
using query::Expr;
using query::ExprKind;
using query::ExprPtr;
using query::MatrixSelector;
using query::ParseDuration;
using query::SubqueryExpr;
using query::TimeModifiers;
using query::VectorSelector;

namespace {

// timestamp.FromFloatSeconds; a product beyond int64 converts as Go's
// amd64 conversion does, to the smallest int64.
int64_t FromFloatSeconds(double seconds) {
  const double ms = std::round(seconds * 1000);
  if (!(ms >= -9.2233720368547758e18 && ms < 9.2233720368547758e18)) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(ms);
}

}  // namespace

std::optional<int64_t> Parser::DurationValue(const Token& t) {
  auto d = ParseDuration(t.text);
  if (!d.ok()) {
    Fail(t.pos, std::string(d.status().message()));
    return std::nullopt;
  }
  if (*d == 0) {
    Fail(t.pos, "duration must be greater than 0");
    return std::nullopt;
  }
  return *d;
}

ExprPtr Parser::ParsePostfix(ExprPtr e) {
  while (e != nullptr && !error_) {
    switch (cur_.type) {
      case TokenType::kLeftBracket:
        e = ParseRange(std::move(e));
        break;
      case TokenType::kOffset:
        e = ParseOffset(std::move(e));
        break;
      case TokenType::kAt:
        e = ParseAt(std::move(e));
        break;
      default:
        return e;
    }
  }
  return error_ ? nullptr : std::move(e);
}

ExprPtr Parser::ParseRange(ExprPtr e) {
  const uint32_t bracket = cur_.pos;
  Advance();
  if (error_) return nullptr;
  if (cur_.type != TokenType::kDuration) {
    return Unexpected("subquery selector", "duration");
  }
  auto range = DurationValue(cur_);
  if (!range) return nullptr;
  Advance();
  if (cur_.type == TokenType::kRightBracket) {
    if (e->kind() != ExprKind::kVectorSelector) {
      Fail(bracket, "ranges only allowed for vector selectors");
      return nullptr;
    }
    const TimeModifiers& tm = e->As<VectorSelector>().time;
    if (tm.offset_ms != 0) {
      Fail(bracket, "no offset modifiers allowed before range");
      return nullptr;
    }
    if (tm.at == AtModifier::kTimestamp) {
      Fail(bracket, "no @ modifiers allowed before range");
      return nullptr;
    }
    Advance();
    auto m = std::make_unique<MatrixSelector>();
    m->range_ms = *range;
    m->pos = {e->pos.start, last_end_};
    m->selector.reset(&e.release()->As<VectorSelector>());
    if (!SetHeight(*m, {m->selector.get()})) return nullptr;
    return m;
  }
  if (cur_.type != TokenType::kColon) {
    return error_ ? nullptr : Unexpected("subquery or range", "\":\" or \"]\"");
  }
  Advance();
  auto s = std::make_unique<SubqueryExpr>();
  s->range_ms = *range;
  if (cur_.type == TokenType::kDuration) {
    auto step = DurationValue(cur_);
    if (!step) return nullptr;
    s->step_ms = *step;
    Advance();
    if (cur_.type != TokenType::kRightBracket) {
      return error_ ? nullptr : Unexpected("subquery selector", "\"]\"");
    }
  } else if (cur_.type != TokenType::kRightBracket) {
    return error_ ? nullptr
                  : Unexpected("subquery selector", "duration or \"]\"");
  }
  Advance();
  s->pos = {e->pos.start, last_end_};
  s->expr = std::move(e);
  if (!SetHeight(*s, {s->expr.get()})) return nullptr;
  return s;
}

TimeModifiers* Parser::TimeOf(Expr& e, std::string_view what) {
  switch (e.kind()) {
    case ExprKind::kVectorSelector:
      return &e.As<VectorSelector>().time;
    case ExprKind::kMatrixSelector:
      return &e.As<MatrixSelector>().selector->time;
    case ExprKind::kSubquery:
      return &e.As<SubqueryExpr>().time;
    default:
      Fail(e.pos.start,
           absl::StrCat(AbslView(what),
                        " must be preceded by an instant vector selector "
                        "or range vector selector or a subquery"));
      return nullptr;
  }
}

ExprPtr Parser::ParseOffset(ExprPtr e) {
  Advance();
  bool negative = false;
  if (cur_.type == TokenType::kSub) {
    negative = true;
    Advance();
  }
  if (error_) return nullptr;
  if (cur_.type != TokenType::kDuration) {
    return Unexpected("offset", "duration");
  }
  auto d = DurationValue(cur_);
  if (!d) return nullptr;
  Advance();
  TimeModifiers* tm = TimeOf(*e, "offset modifier");
  if (tm == nullptr) return nullptr;
  if (tm->offset_ms != 0) {
    Fail(e->pos.start, "offset may not be set multiple times");
    return nullptr;
  }
  tm->offset_ms = negative ? -*d : *d;
  e->pos.end = last_end_;
  return error_ ? nullptr : std::move(e);
}

ExprPtr Parser::ParseAt(ExprPtr e) {
  Advance();
  if (error_) return nullptr;
  AtModifier at = AtModifier::kTimestamp;
  double seconds = 0;
  const TokenType t = cur_.type;
  if (t == TokenType::kNumber ||
      ((t == TokenType::kAdd || t == TokenType::kSub) &&
       Peek().type == TokenType::kNumber)) {
    const bool negative = t == TokenType::kSub;
    if (t != TokenType::kNumber) Advance();
    std::string error;
    auto v = ParseGoNumber(cur_.text, &error);
    if (!v) {
      Fail(cur_.pos, absl::StrCat("error parsing number: ", error));
      return nullptr;
    }
    seconds = negative ? -*v : *v;
    Advance();
    if (std::isinf(seconds) || std::isnan(seconds) ||
        seconds >= static_cast<double>(std::numeric_limits<int64_t>::max()) ||
        seconds <= static_cast<double>(std::numeric_limits<int64_t>::min())) {
      Fail(e->pos.start,
           absl::StrCat("timestamp out of bounds for @ modifier: ",
                        GoFormatFixed(seconds, 6)));
      return nullptr;
    }
  } else if (t == TokenType::kStart || t == TokenType::kEnd) {
    at = t == TokenType::kStart ? AtModifier::kStart : AtModifier::kEnd;
    Advance();
    if (cur_.type != TokenType::kLeftParen) {
      return error_ ? nullptr : Unexpected("@", "timestamp");
    }
    Advance();
    if (cur_.type != TokenType::kRightParen) {
      return error_ ? nullptr : Unexpected("@", "timestamp");
    }
    Advance();
  } else {
    if (t == TokenType::kAdd || t == TokenType::kSub) Advance();
    return error_ ? nullptr : Unexpected("@", "timestamp");
  }
  if (error_) return nullptr;
  TimeModifiers* tm = TimeOf(*e, "@ modifier");
  if (tm == nullptr) return nullptr;
  if (tm->at != AtModifier::kNone) {
    Fail(e->pos.start, "@ <timestamp> may not be set multiple times");
    return nullptr;
  }
  tm->at = at;
  if (at == AtModifier::kTimestamp) tm->at_ms = FromFloatSeconds(seconds);
  e->pos.end = last_end_;
  return e;
}

}  // namespace keel::query_internal
