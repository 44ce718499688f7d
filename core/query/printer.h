// ExprToString: a syntax tree written back as PromQL, in the canonical form
// Prometheus 2.42 prints (promql/parser/printer.go, its String methods):
// single spaces around binary operators, `sum by (a, b) (x)`, matchers
// sorted with the name outside the braces, durations normalised (`90m` is
// `1h30m`), numbers as Go's %v writes them (`1e+06`), strings in double
// quotes with Go escapes, `@ 1.500` with three decimals, then `offset`.
//
//   auto e = keel::query::ParseExpr("SUM(rate(x{b='1',a=\"2\"}[90m]))by(job)");
//   keel::query::ExprToString(**e);
//   // sum by (job) (rate(x{a="2",b="1"}[1h30m]))
//
// Parsing the printed form gives the same tree, parentheses included (the
// printer keeps those of the input and adds none).
//
// Thread safety: pure function.
#ifndef KEEL_CORE_QUERY_PRINTER_H_
#define KEEL_CORE_QUERY_PRINTER_H_

#include <string>

#include "core/query/ast.h"

namespace keel::query {

std::string ExprToString(const Expr& expr);

}  // namespace keel::query

#endif  // KEEL_CORE_QUERY_PRINTER_H_
