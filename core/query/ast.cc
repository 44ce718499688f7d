#include "core/query/ast.h"

#include "core/query/functions.h"

namespace keel::query {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kNone:
      return "none";
    case ValueType::kVector:
      return "vector";
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
  }
  return "none";
}

std::string_view DocumentedType(ValueType type) {
  switch (type) {
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    default:
      return ValueTypeName(type);
  }
}

std::string_view BinaryOpString(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEqlc:
      return "==";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kLss:
      return "<";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kGtr:
      return ">";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "?";
}

bool IsComparisonOp(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEqlc:
    case BinaryOp::kNeq:
    case BinaryOp::kLte:
    case BinaryOp::kLss:
    case BinaryOp::kGte:
    case BinaryOp::kGtr:
      return true;
    default:
      return false;
  }
}

bool IsSetOp(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string_view AggregateOpString(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
      return "sum";
    case AggregateOp::kAvg:
      return "avg";
    case AggregateOp::kCount:
      return "count";
    case AggregateOp::kMin:
      return "min";
    case AggregateOp::kMax:
      return "max";
    case AggregateOp::kGroup:
      return "group";
    case AggregateOp::kStddev:
      return "stddev";
    case AggregateOp::kStdvar:
      return "stdvar";
    case AggregateOp::kTopk:
      return "topk";
    case AggregateOp::kBottomk:
      return "bottomk";
    case AggregateOp::kCountValues:
      return "count_values";
    case AggregateOp::kQuantile:
      return "quantile";
  }
  return "?";
}

bool AggregateTakesParam(AggregateOp op) {
  return op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
         op == AggregateOp::kCountValues || op == AggregateOp::kQuantile;
}

ValueType Expr::Type() const {
  switch (kind_) {
    case ExprKind::kNumberLiteral:
      return ValueType::kScalar;
    case ExprKind::kStringLiteral:
      return ValueType::kString;
    case ExprKind::kVectorSelector:
    case ExprKind::kAggregate:
      return ValueType::kVector;
    case ExprKind::kMatrixSelector:
    case ExprKind::kSubquery:
      return ValueType::kMatrix;
    case ExprKind::kParen:
      return As<ParenExpr>().expr->Type();
    case ExprKind::kUnary:
      return As<UnaryExpr>().expr->Type();
    case ExprKind::kBinary: {
      const auto& b = As<BinaryExpr>();
      return b.lhs->Type() == ValueType::kScalar &&
                     b.rhs->Type() == ValueType::kScalar
                 ? ValueType::kScalar
                 : ValueType::kVector;
    }
    case ExprKind::kCall:
      return As<Call>().func->return_type;
  }
  return ValueType::kNone;
}

}  // namespace keel::query
