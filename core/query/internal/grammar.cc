#include "core/query/internal/grammar.h"

namespace keel::query_internal {

using query::AggregateOp;
using query::BinaryOp;

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

query::BinaryOp ToBinaryOp(TokenType t) {
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

query::AggregateOp ToAggregateOp(TokenType t) {
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
      return IsAggregator(t);
  }
}

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
      return IsAggregator(t);
  }
}

}  // namespace keel::query_internal
