// ParseExpr: reads a PromQL expression into a syntax tree (ast.h), exactly
// as Prometheus 2.42 does: the same grammar, precedence and associativity,
// the same checks (function and aggregation argument types, what binary
// operators accept), and the same error messages at the same places:
//
//   ParseExpr("sum(rate(x[5m])) by (job)");  // ok
//   ParseExpr("rate(x)");
//   // 1:6: parse error: expected type range vector in call to function
//   // "rate", got instant vector
//   ParseExpr("1 +");  // 1:4: parse error: unexpected end of input
//
// Errors are InvalidArgument and their message is the text Prometheus' API
// returns for the same query ("line:column: parse error: ...", the column
// counted in bytes from 1). The functions of native histograms
// (histogram_count, histogram_sum, histogram_fraction) are refused as
// unsupported: keel stores none.
//
// The input is bounded (ParseLimits): its size, how deep expressions nest
// (which bounds the parser's recursion and that of every walk of the tree),
// and the matchers of one selector.
//
// ParseExpr only parses. Evaluation (engine.h) takes the returned tree
// with the series store and a time range; it relies on what the parser
// guarantees: every function call has its argument count and types,
// MatrixSelector holds a VectorSelector, a BinaryExpr's `matching` is
// present exactly when both sides are instant vectors.
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_QUERY_PARSER_H_
#define KEEL_CORE_QUERY_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/query/ast.h"
#include "core/series/matcher.h"

namespace keel::query {

struct ParseLimits {
  // Dashboards send long regex alternations from template variables, so
  // this is generous; the work a query does is bounded at evaluation.
  std::size_t max_bytes = 1 << 20;
  // How deep the tree may be (Expr::height): a chain `a + b + ...` is as
  // deep as it is long.
  uint32_t max_height = 512;
  // Per selector, the name's own included (as core::SelectorLimits).
  std::size_t max_matchers = 64;
};

absl::StatusOr<ExprPtr> ParseExpr(std::string_view input,
                                  const ParseLimits& limits = {});

// A lone selector, `name{...}` or `{...}`, as the API's match[] parameters
// take it (Prometheus' ParseMetricSelector): the matchers, the name's last.
// Like Prometheus it does not require a non-empty matcher.
absl::StatusOr<std::vector<core::Matcher>> ParseMetricSelector(
    std::string_view input, const ParseLimits& limits = {});

}  // namespace keel::query

#endif  // KEEL_CORE_QUERY_PARSER_H_
