// The type checker Prometheus runs on a parsed expression (checkAST in
// promql/parser/parse.go): argument types of functions and aggregations,
// what binary operators accept (bool only on comparisons, vector matching
// only between instant vectors, set operators many-to-many and never on
// scalars), and that a selector selects something. It also settles what
// the tree leaves open as Prometheus does: set operators get many-to-many
// matching, and a binary expression with a scalar side loses its matching.
//
// Errors come in Prometheus' order, the first one reported.
//
// Thread safety: one call per tree at a time (it edits the tree).
#ifndef KEEL_CORE_QUERY_INTERNAL_CHECKER_H_
#define KEEL_CORE_QUERY_INTERNAL_CHECKER_H_

#include <optional>
#include <string_view>

#include "core/query/ast.h"
#include "core/query/internal/parse_error.h"

namespace keel::query_internal {

// `input` is the text `root` was parsed from (error positions skip its
// spaces around operators). REQUIRES: root's height is bounded.
std::optional<ParseError> CheckAst(query::Expr& root, std::string_view input);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_CHECKER_H_
