// The syntax tree of a PromQL expression, as Prometheus 2.42's parser builds
// it (promql/parser/ast.go): the parser (core/query/parser.h) makes one,
// the printer (printer.h) writes it back in Prometheus' canonical form, and
// the evaluator walks it.
//
//   absl::StatusOr<keel::query::ExprPtr> e =
//       keel::query::ParseExpr("sum by (job) (rate(http_requests[5m]))");
//   const auto& agg = (*e)->As<keel::query::AggregateExpr>();
//   agg.grouping;  // {"job"}
//
// Every node keeps the byte range of the input it came from (`pos`), so an
// error found later (while evaluating) can point at it as Prometheus does.
// Durations and offsets are milliseconds, timestamps milliseconds since the
// epoch: Prometheus' time.Duration nanoseconds carry nothing finer, since
// its duration syntax stops at `ms`.
//
// Thread safety: a tree is a plain value; concurrent reads are safe.
#ifndef KEEL_CORE_QUERY_AST_H_
#define KEEL_CORE_QUERY_AST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/series/matcher.h"

namespace keel::query {

// What an expression evaluates to.
enum class ValueType { kNone, kVector, kScalar, kMatrix, kString };

// Prometheus' names: "none", "vector", "scalar", "matrix", "string".
std::string_view ValueTypeName(ValueType type);
// The names its error messages use: "instant vector" and "range vector" for
// vector and matrix, ValueTypeName otherwise.
std::string_view DocumentedType(ValueType type);

// A half-open byte range [start, end) of the query text.
struct PositionRange {
  uint32_t start = 0;
  uint32_t end = 0;
};

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEqlc,  // ==
  kNeq,   // !=
  kLte,
  kLss,
  kGte,
  kGtr,
  kAnd,
  kOr,
  kUnless,
};

// "+", "==", "and", "atan2", ... as written in PromQL.
std::string_view BinaryOpString(BinaryOp op);
bool IsComparisonOp(BinaryOp op);
bool IsSetOp(BinaryOp op);

enum class AggregateOp {
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
};

// "sum", "count_values", ...
std::string_view AggregateOpString(AggregateOp op);
// topk, bottomk, quantile and count_values take a parameter first.
bool AggregateTakesParam(AggregateOp op);

// The `@` modifier: none, a fixed timestamp, or the query's start or end.
enum class AtModifier { kNone, kTimestamp, kStart, kEnd };

// Where a selector or subquery is evaluated, relative to the query's time.
struct TimeModifiers {
  int64_t offset_ms = 0;  // `offset`, negative for `offset -5m`
  AtModifier at = AtModifier::kNone;
  int64_t at_ms = 0;  // when at == kTimestamp
};

enum class ExprKind {
  kNumberLiteral,
  kStringLiteral,
  kVectorSelector,
  kMatrixSelector,
  kSubquery,
  kParen,
  kUnary,
  kBinary,
  kAggregate,
  kCall,
};

class Expr;
using ExprPtr = std::unique_ptr<Expr>;

class Expr {
 public:
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  ExprKind kind() const { return kind_; }
  // The type it evaluates to (Prometheus' Expr.Type()).
  ValueType Type() const;

  // REQUIRES: kind() == T::kKind.
  template <typename T>
  const T& As() const {
    return static_cast<const T&>(*this);
  }
  template <typename T>
  T& As() {
    return static_cast<T&>(*this);
  }

  PositionRange pos;
  // 1 for a leaf, else 1 + the tallest child's. The parser bounds it
  // (ParseLimits::max_height), which bounds every recursive walk of a tree.
  uint32_t height = 1;

 protected:
  explicit Expr(ExprKind kind) : kind_(kind) {}

 private:
  ExprKind kind_;
};

struct NumberLiteral final : Expr {
  static constexpr ExprKind kKind = ExprKind::kNumberLiteral;
  NumberLiteral() : Expr(kKind) {}
  double value = 0;
};

struct StringLiteral final : Expr {
  static constexpr ExprKind kKind = ExprKind::kStringLiteral;
  StringLiteral() : Expr(kKind) {}
  std::string value;  // unquoted
};

// `name{matchers} @ t offset d`. A name written before the braces is also
// the last matcher (`__name__="name"`), as in Prometheus; one written as
// `{__name__="x"}` leaves `name` empty.
struct VectorSelector final : Expr {
  static constexpr ExprKind kKind = ExprKind::kVectorSelector;
  VectorSelector() : Expr(kKind) {}
  std::string name;
  std::vector<core::Matcher> matchers;
  TimeModifiers time;
};

// `selector[range]`; the selector's offset and @ apply to the whole range.
struct MatrixSelector final : Expr {
  static constexpr ExprKind kKind = ExprKind::kMatrixSelector;
  MatrixSelector() : Expr(kKind) {}
  std::unique_ptr<VectorSelector> selector;
  int64_t range_ms = 0;
};

// `expr[range:step] @ t offset d`; step_ms 0 means the default step.
struct SubqueryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kSubquery;
  SubqueryExpr() : Expr(kKind) {}
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;
  TimeModifiers time;
};

struct ParenExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kParen;
  ParenExpr() : Expr(kKind) {}
  ExprPtr expr;
};

// `-expr` or `+expr` (a sign on a number literal is folded into it instead).
struct UnaryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kUnary;
  UnaryExpr() : Expr(kKind) {}
  bool negate = false;  // `-` rather than `+`
  ExprPtr expr;
};

enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// How the series of two instant vectors pair up.
struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  // on(...) when `on`, else ignoring(...).
  std::vector<std::string> matching_labels;
  bool on = false;
  // The labels group_left(...) / group_right(...) copy from the "one" side.
  std::vector<std::string> include;
};

struct BinaryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kBinary;
  BinaryExpr() : Expr(kKind) {}
  BinaryOp op = BinaryOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  // Present only when both sides are instant vectors; set operators have
  // kManyToMany.
  std::optional<VectorMatching> matching;
};

struct AggregateExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kAggregate;
  AggregateExpr() : Expr(kKind) {}
  AggregateOp op = AggregateOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // only when AggregateTakesParam(op)
  std::vector<std::string> grouping;
  bool without = false;
};

struct Function;

struct Call final : Expr {
  static constexpr ExprKind kKind = ExprKind::kCall;
  Call() : Expr(kKind) {}
  const Function* func = nullptr;  // never null in a parsed tree
  std::vector<ExprPtr> args;
};

}  // namespace keel::query

#endif  // KEEL_CORE_QUERY_AST_H_
