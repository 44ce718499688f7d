// What Prometheus 2.42's grammar (promql/parser/generated_parser.y) makes
// of a token where the parser stands: how tightly a binary operator binds,
// which operator or aggregation it names, and the token classes the
// grammar accepts as metric names and as label names.
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_QUERY_INTERNAL_GRAMMAR_H_
#define KEEL_CORE_QUERY_INTERNAL_GRAMMAR_H_

#include "core/query/ast.h"
#include "core/query/internal/token.h"

namespace keel::query_internal {

// Binding strength of binary operators, as the %left/%right lines of
// Prometheus' grammar order them; 0 for other tokens. Only ^ is
// right-associative. A unary sign binds like `*`, so it takes a `^`
// chain as its operand and nothing weaker.
inline constexpr int kPowPrecedence = 6;
int Precedence(TokenType t);

// The operator a binary-operator token names. REQUIRES: Precedence(t) > 0.
query::BinaryOp ToBinaryOp(TokenType t);
// The aggregation an aggregator token names. REQUIRES: IsAggregator(t).
query::AggregateOp ToAggregateOp(TokenType t);

// Tokens that name a metric where an expression starts (the grammar's
// metric_identifier): the aggregators are among them when no `(`, `by` or
// `without` follows.
bool IsMetricNameToken(TokenType t);

// What may follow a selector's name, which makes `sum` a metric name
// rather than an aggregation.
bool CanFollowMetricName(TokenType t);

// The tokens a grouping list takes as label names (the grammar's
// maybe_label); only those spelled as label names pass.
bool IsMaybeLabel(TokenType t);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_GRAMMAR_H_
