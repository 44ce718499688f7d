#include "core/query/parser.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/duration.h"
#include "core/query/functions.h"
#include "core/query/internal/checker.h"
#include "core/query/internal/go_text.h"
#include "core/query/internal/lexer.h"
#include "core/query/internal/parse_error.h"
#include "core/series/labels.h"

namespace keel::query {
namespace {

using query_internal::AbslView;
using query_internal::DescribeToken;
using query_internal::GoQuote;
using query_internal::Lexer;
using query_internal::ParseError;
using query_internal::Token;
using query_internal::TokenType;

// Binding strength of binary operators, as the %left/%right lines of
// Prometheus' grammar order them; 0 for other tokens. Only ^ is
// right-associative. A unary sign binds like `*`, so it takes a `^`
// chain as its operand and nothing weaker.
constexpr int kPowPrecedence = 6;

int Precedence(TokenType t) {
  switch (t) {
    case TokenType::kOr:
      return 1;
    case TokenType::kAnd:
    case TokenType::kUnless:
      return 2;
    case TokenType::kEqlc:
    case TokenType::kNeq:
    case TokenType::kLte:
    case TokenType::kLss:
    case TokenType::kGte:
    case TokenType::kGtr:
      return 3;
    case TokenType::kAdd:
    case TokenType::kSub:
      return 4;
    case TokenType::kMul:
    case TokenType::kDiv:
    case TokenType::kMod:
    case TokenType::kAtan2:
      return 5;
    case TokenType::kPow:
      return kPowPrecedence;
    default:
      return 0;
  }
}

BinaryOp ToBinaryOp(TokenType t) {
  switch (t) {
    case TokenType::kAdd:
      return BinaryOp::kAdd;
    case TokenType::kSub:
      return BinaryOp::kSub;
    case TokenType::kMul:
      return BinaryOp::kMul;
    case TokenType::kDiv:
      return BinaryOp::kDiv;
    case TokenType::kMod:
      return BinaryOp::kMod;
    case TokenType::kPow:
      return BinaryOp::kPow;
    case TokenType::kAtan2:
      return BinaryOp::kAtan2;
    case TokenType::kEqlc:
      return BinaryOp::kEqlc;
    case TokenType::kNeq:
      return BinaryOp::kNeq;
    case TokenType::kLte:
      return BinaryOp::kLte;
    case TokenType::kLss:
      return BinaryOp::kLss;
    case TokenType::kGte:
      return BinaryOp::kGte;
    case TokenType::kGtr:
      return BinaryOp::kGtr;
    case TokenType::kAnd:
      return BinaryOp::kAnd;
    case TokenType::kOr:
      return BinaryOp::kOr;
    default:
      return BinaryOp::kUnless;
  }
}

AggregateOp ToAggregateOp(TokenType t) {
  switch (t) {
    case TokenType::kSum:
      return AggregateOp::kSum;
    case TokenType::kAvg:
      return AggregateOp::kAvg;
    case TokenType::kCount:
      return AggregateOp::kCount;
    case TokenType::kMin:
      return AggregateOp::kMin;
    case TokenType::kMax:
      return AggregateOp::kMax;
    case TokenType::kGroup:
      return AggregateOp::kGroup;
    case TokenType::kStddev:
      return AggregateOp::kStddev;
    case TokenType::kStdvar:
      return AggregateOp::kStdvar;
    case TokenType::kTopk:
      return AggregateOp::kTopk;
    case TokenType::kBottomk:
      return AggregateOp::kBottomk;
    case TokenType::kCountValues:
      return AggregateOp::kCountValues;
    default:
      return AggregateOp::kQuantile;
  }
}

// Tokens that name a metric where an expression starts (the grammar's
// metric_identifier): the aggregators are among them when no `(`, `by` or
// `without` follows.
bool IsMetricNameToken(TokenType t) {
  switch (t) {
    case TokenType::kIdentifier:
    case TokenType::kMetricIdentifier:
    case TokenType::kBy:
    case TokenType::kWithout:
    case TokenType::kOffset:
    case TokenType::kAnd:
    case TokenType::kOr:
    case TokenType::kUnless:
    case TokenType::kStart:
    case TokenType::kEnd:
      return true;
    default:
      return query_internal::IsAggregator(t);
  }
}

// What may follow a selector's name, which makes `sum` a metric name
// rather than an aggregation.
bool CanFollowMetricName(TokenType t) {
  switch (t) {
    case TokenType::kLeftBrace:
    case TokenType::kOffset:
    case TokenType::kAt:
    case TokenType::kLeftBracket:
    case TokenType::kRightParen:
    case TokenType::kComma:
    case TokenType::kEof:
      return true;
    default:
      return Precedence(t) != 0;
  }
}

// The tokens a grouping list takes as label names (the grammar's
// maybe_label); only those spelled as label names pass.
bool IsMaybeLabel(TokenType t) {
  switch (t) {
    case TokenType::kIdentifier:
    case TokenType::kMetricIdentifier:
    case TokenType::kBool:
    case TokenType::kBy:
    case TokenType::kGroupLeft:
    case TokenType::kGroupRight:
    case TokenType::kIgnoring:
    case TokenType::kAnd:
    case TokenType::kOr:
    case TokenType::kUnless:
    case TokenType::kOffset:
    case TokenType::kOn:
    case TokenType::kWithout:
    case TokenType::kStart:
    case TokenType::kEnd:
    case TokenType::kAtan2:
      return true;
    default:
      return query_internal::IsAggregator(t);
  }
}

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

// Prometheus' number(): the integer reading first, else the float one.
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

bool IsLabelName(std::string_view s) { return core::IsValidLabelName(s); }

// timestamp.FromFloatSeconds; a product beyond int64 converts as Go's
// amd64 conversion does, to the smallest int64.
int64_t FromFloatSeconds(double seconds) {
  const double ms = std::round(seconds * 1000);
  if (!(ms >= -9.2233720368547758e18 && ms < 9.2233720368547758e18)) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(ms);
}

class Parser {
 public:
  Parser(std::string_view input, const ParseLimits& limits)
      : input_(input), limits_(limits), lexer_(input) {
    cur_ = LexToken();
    if (cur_.type == TokenType::kError) Fail(cur_.pos, cur_.error);
  }

  ExprPtr ParseRoot() {
    if (error_) return nullptr;
    if (cur_.type == TokenType::kEof) {
      Fail(0, "no expression found in input");
      return nullptr;
    }
    ExprPtr e = ParseExpr(0);
    if (!e) return nullptr;
    if (cur_.type != TokenType::kEof) return Unexpected("", "");
    if (auto err = query_internal::CheckAst(*e, input_)) {
      error_ = std::move(err);
      return nullptr;
    }
    return e;
  }

  std::optional<std::vector<core::Matcher>> ParseSelectorOnly() {
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

  const std::optional<ParseError>& error() const { return error_; }

 private:
  Token LexToken() {
    Token t = lexer_.Next();
    while (t.type == TokenType::kComment) t = lexer_.Next();
    return t;
  }

  // Moves to the next token; a lexer error there is the parse's error, as
  // Prometheus records it on reading the token.
  void Advance() {
    last_end_ = cur_.end();
    if (next_) {
      cur_ = std::move(*next_);
      next_.reset();
    } else {
      cur_ = LexToken();
    }
    if (cur_.type == TokenType::kError) Fail(cur_.pos, cur_.error);
  }

  // The token after the current one.
  const Token& Peek() {
    if (!next_) {
      next_ = LexToken();
      if (next_->type == TokenType::kError) Fail(next_->pos, next_->error);
    }
    return *next_;
  }

  void Fail(uint32_t pos, std::string message) {
    if (!error_) error_ = ParseError{pos, std::move(message)};
  }

  // "unexpected <token>[ in <context>][, expected <expected>]".
  std::nullptr_t Unexpected(std::string_view context,
                            std::string_view expected) {
    std::string m = absl::StrCat("unexpected ", DescribeToken(cur_));
    if (!context.empty()) absl::StrAppend(&m, " in ", AbslView(context));
    if (!expected.empty())
      absl::StrAppend(&m, ", expected ", AbslView(expected));
    Fail(cur_.pos, std::move(m));
    return nullptr;
  }

  bool SetHeight(Expr& e, std::initializer_list<const Expr*> children) {
    uint32_t h = 0;
    for (const Expr* c : children) {
      if (c != nullptr && c->height > h) h = c->height;
    }
    return SetHeightAbove(e, h);
  }

  bool SetHeightAbove(Expr& e, uint32_t tallest_child) {
    e.height = tallest_child + 1;
    if (e.height > limits_.max_height) {
      Fail(e.pos.start, TooDeep());
      return false;
    }
    return true;
  }

  std::string TooDeep() const {
    return absl::StrCat("expression nests more than ", limits_.max_height,
                        " levels deep");
  }

  ExprPtr ParseExpr(int min_precedence) {
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

  ExprPtr ParseBinary(int min_precedence) {
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

  bool ParseBinModifiers(BinaryExpr& b) {
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

  ExprPtr ParseUnary() {
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

  ExprPtr ParsePrimary() {
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
    if (query_internal::IsAggregator(t)) {
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

  bool Unquote(const Token& token, std::string* out) {
    auto s = query_internal::UnquotePromString(token.text);
    if (!s.ok()) {
      Fail(token.pos, std::string(s.status().message()));
      return false;
    }
    *out = std::move(*s);
    return true;
  }

  // `name`, `name{...}` or `{...}` at the current token.
  ExprPtr ParseSelector() {
    auto vs = std::make_unique<VectorSelector>();
    vs->pos = {cur_.pos, cur_.end()};
    if (cur_.type != TokenType::kLeftBrace) {
      vs->name = std::string(cur_.text);
      Advance();
    }
    if (cur_.type == TokenType::kLeftBrace && !error_) {
      if (!ParseLabelMatchers(*vs)) return nullptr;
      vs->pos.end = last_end_;
    }
    if (error_) return nullptr;
    if (!vs->name.empty()) {
      auto m =
          core::Matcher::Create(core::MatchType::kEqual,
                                std::string(core::kMetricNameLabel), vs->name);
      vs->matchers.push_back(*std::move(m));
    }
    if (vs->matchers.size() > limits_.max_matchers) {
      Fail(vs->pos.start, absl::StrCat("selector has ", vs->matchers.size(),
                                       " matchers, more than the limit of ",
                                       limits_.max_matchers));
      return nullptr;
    }
    return vs;
  }

  bool ParseLabelMatchers(VectorSelector& vs) {
    Advance();  // {
    if (cur_.type == TokenType::kRightBrace) {
      Advance();
      return !error_;
    }
    for (;;) {
      if (error_) return false;
      if (cur_.type != TokenType::kIdentifier) {
        Unexpected("label matching", "identifier or \"}\"");
        return false;
      }
      const Token label = cur_;
      Advance();
      core::MatchType type;
      switch (cur_.type) {
        case TokenType::kEql:
          type = core::MatchType::kEqual;
          break;
        case TokenType::kNeq:
          type = core::MatchType::kNotEqual;
          break;
        case TokenType::kEqlRegex:
          type = core::MatchType::kRegexMatch;
          break;
        case TokenType::kNeqRegex:
          type = core::MatchType::kRegexNoMatch;
          break;
        default:
          if (!error_) Unexpected("label matching", "label matching operator");
          return false;
      }
      Advance();
      if (error_) return false;
      if (cur_.type != TokenType::kString) {
        Unexpected("label matching", "string");
        return false;
      }
      std::string value;
      if (!Unquote(cur_, &value)) return false;
      auto m = core::Matcher::Create(type, std::string(label.text),
                                     std::move(value));
      if (!m.ok()) {
        Fail(label.pos, std::string(m.status().message()));
        return false;
      }
      vs.matchers.push_back(*std::move(m));
      Advance();
      if (cur_.type == TokenType::kComma) {
        Advance();
        if (cur_.type == TokenType::kRightBrace) break;
        continue;
      }
      if (cur_.type == TokenType::kRightBrace) break;
      if (!error_) Unexpected("label matching", "\",\" or \"}\"");
      return false;
    }
    Advance();  // }
    return !error_;
  }

  // `(a, b)`, `()`, a trailing comma allowed.
  std::optional<std::vector<std::string>> ParseGroupingLabels() {
    if (error_) return std::nullopt;
    if (cur_.type != TokenType::kLeftParen) {
      Unexpected("grouping opts", "\"(\"");
      return std::nullopt;
    }
    Advance();
    std::vector<std::string> labels;
    while (!error_) {
      if (cur_.type == TokenType::kRightParen) {
        Advance();
        if (error_) break;
        return labels;
      }
      if (!IsMaybeLabel(cur_.type) || !IsLabelName(cur_.text)) {
        Unexpected("grouping opts", "label");
        break;
      }
      labels.emplace_back(cur_.text);
      Advance();
      if (cur_.type == TokenType::kComma) {
        Advance();
      } else if (cur_.type != TokenType::kRightParen && !error_) {
        Unexpected("grouping opts", "\",\" or \")\"");
      }
    }
    return std::nullopt;
  }

  // `(args)` at the current `(`.
  std::optional<std::vector<ExprPtr>> ParseCallBody() {
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

  ExprPtr ParseCall() {
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

  ExprPtr ParseAggregate() {
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

  // A duration token's value: positive, as ranges, steps and offsets are.
  std::optional<int64_t> DurationValue(const Token& t) {
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

  // `[range]`, `[range:step]`, `offset d`, `@ t` after an expression.
  ExprPtr ParsePostfix(ExprPtr e) {
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

  ExprPtr ParseRange(ExprPtr e) {
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
      return error_ ? nullptr
                    : Unexpected("subquery or range", "\":\" or \"]\"");
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

  // The offset and @ of what they may follow, or null after failing with
  // `what` ("offset modifier" or "@ modifier").
  TimeModifiers* TimeOf(Expr& e, std::string_view what) {
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

  ExprPtr ParseOffset(ExprPtr e) {
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

  ExprPtr ParseAt(ExprPtr e) {
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
                          query_internal::GoFormatFixed(seconds, 6)));
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

  std::string_view input_;
  const ParseLimits& limits_;
  Lexer lexer_;
  Token cur_;
  std::optional<Token> next_;
  uint32_t last_end_ = 0;
  uint32_t nesting_ = 0;
  std::optional<ParseError> error_;
};

absl::Status TooLong(std::string_view input, const ParseLimits& limits) {
  return absl::InvalidArgumentError(
      absl::StrCat("parse error: the expression is ", input.size(),
                   " bytes, more than the limit of ", limits.max_bytes));
}

}  // namespace

absl::StatusOr<ExprPtr> ParseExpr(std::string_view input,
                                  const ParseLimits& limits) {
  if (input.size() > limits.max_bytes) return TooLong(input, limits);
  Parser p(input, limits);
  ExprPtr e = p.ParseRoot();
  if (p.error()) return query_internal::ParseErrorStatus(input, *p.error());
  return e;
}

absl::StatusOr<std::vector<core::Matcher>> ParseMetricSelector(
    std::string_view input, const ParseLimits& limits) {
  if (input.size() > limits.max_bytes) return TooLong(input, limits);
  Parser p(input, limits);
  auto m = p.ParseSelectorOnly();
  if (p.error()) return query_internal::ParseErrorStatus(input, *p.error());
  return std::move(*m);
}

}  // namespace keel::query
