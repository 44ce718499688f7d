#include "core/query/parser.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/internal/expr_parser.h"
#include "core/query/internal/parse_error.h"

namespace keel::query {
namespace {

absl::Status TooLong(std::string_view input, const ParseLimits& limits) {
  return absl::InvalidArgumentError(
      absl::StrCat("parse error: the expression is ", input.size(),
                   " bytes, more than the limit of ", limits.max_bytes));
}

}  // namespace

absl::StatusOr<ExprPtr> ParseExpr(std::string_view input,
                                  const ParseLimits& limits) {
  if (input.size() > limits.max_bytes) return TooLong(input, limits);
  query_internal::Parser p(input, limits);
  ExprPtr e = p.ParseRoot();
  if (p.error()) return query_internal::ParseErrorStatus(input, *p.error());
  return e;
}

absl::StatusOr<std::vector<core::Matcher>> ParseMetricSelector(
    std::string_view input, const ParseLimits& limits) {
  if (input.size() > limits.max_bytes) return TooLong(input, limits);
  query_internal::Parser p(input, limits);
  auto m = p.ParseSelectorOnly();
  if (p.error()) return query_internal::ParseErrorStatus(input, *p.error());
  return std::move(*m);
}

}  // namespace keel::query
