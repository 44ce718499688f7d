// The PromQL parser (core/query/parser.h): a query that parses prints
// (printer.h) as a query that parses again to the same tree (positions
// aside, and what Prometheus' printer leaves out) and prints the same; the
// tree holds what the parser promises the evaluator (heights within
// ParseLimits::max_height, matchers within max_matchers, argument counts,
// matrix selectors over vector selectors, vector matching exactly between
// two instant vectors); every refusal is an InvalidArgument "parse error".
// ParseMetricSelector's matchers print as a selector that parses back to the
// same matchers.
//
// Deep nesting is where a recursive parser overflows its stack, and random
// bytes seldom nest deep, so an input starting with '\x01' is a template:
// "\x01" N PREFIX "\x00" MIDDLE "\x00" SUFFIX parses as PREFIX repeated
// n = 8 * N times, then MIDDLE, then SUFFIX n times: "(" "x" ")" nests
// parentheses up to 2040 deep, "abs(" "x" ")" calls, "-" "x" "" unary
// minus, "" "x" "+x" a chain of binary operators, far past max_height.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "core/query/ast.h"
#include "core/query/functions.h"
#include "core/query/parser.h"
#include "core/query/printer.h"
#include "tests/fuzz/fuzz_util.h"

namespace keel::query {
namespace {

// Expanded templates stop here: past max_height in every form, and cheap.
constexpr size_t kMaxExpanded = 256 << 10;

std::string Expand(std::string_view input) {
  if (input.size() < 2 || input[0] != '\x01') return std::string(input);
  const size_t n = 8 * static_cast<unsigned char>(input[1]);
  std::string_view rest = input.substr(2);
  std::string_view parts[3];
  for (int i = 0; i < 2; ++i) {
    const size_t zero = rest.find('\0');
    parts[i] = rest.substr(0, zero);
    rest.remove_prefix(zero == std::string_view::npos ? rest.size() : zero + 1);
  }
  parts[2] = rest;
  if (parts[0].size() + parts[2].size() > 0 &&
      n * (parts[0].size() + parts[2].size()) > kMaxExpanded) {
    return std::string(input);
  }
  std::string out;
  for (size_t i = 0; i < n; ++i) out += parts[0];
  out += parts[1];
  for (size_t i = 0; i < n; ++i) out += parts[2];
  return out;
}

// Recursion is bounded by the height the parser checked.
uint32_t CheckTree(const Expr& e, const ParseLimits& limits) {
  std::vector<const Expr*> children;
  switch (e.kind()) {
    case ExprKind::kNumberLiteral:
    case ExprKind::kStringLiteral:
      break;
    case ExprKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      FUZZ_CHECK(vs.matchers.size() <= limits.max_matchers)
          << vs.matchers.size();
      break;
    }
    case ExprKind::kMatrixSelector: {
      const auto& ms = e.As<MatrixSelector>();
      FUZZ_CHECK(ms.selector != nullptr);
      FUZZ_CHECK(ms.range_ms > 0) << ms.range_ms;
      children.push_back(ms.selector.get());
      break;
    }
    case ExprKind::kSubquery: {
      const auto& sq = e.As<SubqueryExpr>();
      FUZZ_CHECK(sq.expr != nullptr);
      FUZZ_CHECK(sq.range_ms > 0 && sq.step_ms >= 0)
          << sq.range_ms << " " << sq.step_ms;
      children.push_back(sq.expr.get());
      break;
    }
    case ExprKind::kParen:
      FUZZ_CHECK(e.As<ParenExpr>().expr != nullptr);
      children.push_back(e.As<ParenExpr>().expr.get());
      break;
    case ExprKind::kUnary:
      FUZZ_CHECK(e.As<UnaryExpr>().expr != nullptr);
      children.push_back(e.As<UnaryExpr>().expr.get());
      break;
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      FUZZ_CHECK(b.lhs != nullptr && b.rhs != nullptr);
      const bool vectors = b.lhs->Type() == ValueType::kVector &&
                           b.rhs->Type() == ValueType::kVector;
      FUZZ_CHECK(b.matching.has_value() == vectors)
          << BinaryOpString(b.op) << " " << ValueTypeName(b.lhs->Type()) << " "
          << ValueTypeName(b.rhs->Type());
      children.push_back(b.lhs.get());
      children.push_back(b.rhs.get());
      break;
    }
    case ExprKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      FUZZ_CHECK(a.expr != nullptr);
      FUZZ_CHECK((a.param != nullptr) == AggregateTakesParam(a.op))
          << AggregateOpString(a.op);
      children.push_back(a.expr.get());
      if (a.param != nullptr) children.push_back(a.param.get());
      break;
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      FUZZ_CHECK(c.func != nullptr);
      const size_t declared = c.func->arg_types.size();
      if (c.func->variadic == 0) {
        FUZZ_CHECK(c.args.size() == declared) << c.func->name;
      } else {
        FUZZ_CHECK(c.args.size() + 1 >= declared) << c.func->name;
        if (c.func->variadic > 0) {
          FUZZ_CHECK(c.args.size() + 1 <=
                     declared + static_cast<size_t>(c.func->variadic))
              << c.func->name;
        }
      }
      for (const ExprPtr& a : c.args) {
        FUZZ_CHECK(a != nullptr);
        children.push_back(a.get());
      }
      break;
    }
  }
  uint32_t tallest = 0;
  for (const Expr* child : children) {
    tallest = std::max(tallest, CheckTree(*child, limits));
  }
  FUZZ_CHECK(e.height == tallest + 1) << e.height << " " << tallest;
  FUZZ_CHECK(e.height <= limits.max_height) << e.height;
  return e.height;
}

bool SameNumber(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

bool SameMatchers(std::vector<core::Matcher> a, std::vector<core::Matcher> b) {
  auto key = [](const core::Matcher& m) {
    return std::tuple(m.name(), m.type(), m.value());
  };
  auto less = [&](const core::Matcher& x, const core::Matcher& y) {
    return key(x) < key(y);
  };
  // The printer sorts the matchers.
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  return std::equal(
      a.begin(), a.end(), b.begin(), b.end(),
      [&](const auto& x, const auto& y) { return key(x) == key(y); });
}

bool SameTime(const TimeModifiers& a, const TimeModifiers& b) {
  return a.offset_ms == b.offset_ms && a.at == b.at && a.at_ms == b.at_ms;
}

// Where two trees differ, ignoring positions ("" when they do not), as far
// as Prometheus' printer writes them.
std::string Difference(const Expr& x, const Expr& y) {
  if (x.kind() != y.kind()) return "kind";
  switch (x.kind()) {
    case ExprKind::kNumberLiteral:
      return SameNumber(x.As<NumberLiteral>().value,
                        y.As<NumberLiteral>().value)
                 ? ""
                 : "number";
    case ExprKind::kStringLiteral:
      return x.As<StringLiteral>().value == y.As<StringLiteral>().value
                 ? ""
                 : "string";
    case ExprKind::kVectorSelector: {
      const auto& a = x.As<VectorSelector>();
      const auto& b = y.As<VectorSelector>();
      if (a.name != b.name) return "selector name";
      if (!SameMatchers(a.matchers, b.matchers)) return "matchers";
      return SameTime(a.time, b.time) ? "" : "selector @/offset";
    }
    case ExprKind::kMatrixSelector: {
      const auto& a = x.As<MatrixSelector>();
      const auto& b = y.As<MatrixSelector>();
      if (a.range_ms != b.range_ms) return "matrix range";
      return Difference(*a.selector, *b.selector);
    }
    case ExprKind::kSubquery: {
      const auto& a = x.As<SubqueryExpr>();
      const auto& b = y.As<SubqueryExpr>();
      if (a.range_ms != b.range_ms || a.step_ms != b.step_ms) {
        return "subquery range or step";
      }
      if (!SameTime(a.time, b.time)) return "subquery @/offset";
      return Difference(*a.expr, *b.expr);
    }
    case ExprKind::kParen:
      return Difference(*x.As<ParenExpr>().expr, *y.As<ParenExpr>().expr);
    case ExprKind::kUnary:
      if (x.As<UnaryExpr>().negate != y.As<UnaryExpr>().negate) return "sign";
      return Difference(*x.As<UnaryExpr>().expr, *y.As<UnaryExpr>().expr);
    case ExprKind::kBinary: {
      const auto& a = x.As<BinaryExpr>();
      const auto& b = y.As<BinaryExpr>();
      if (a.op != b.op || a.return_bool != b.return_bool) {
        return "operator";
      }
      if (a.matching.has_value() != b.matching.has_value()) return "matching";
      // Prometheus writes neither `ignoring()` nor the group modifier that
      // follows it, so only their presence is checked there.
      if (a.matching &&
          (a.matching->on || !a.matching->matching_labels.empty()) &&
          (a.matching->on != b.matching->on ||
           a.matching->matching_labels != b.matching->matching_labels ||
           a.matching->card != b.matching->card ||
           a.matching->include != b.matching->include)) {
        return "vector matching";
      }
      std::string d = Difference(*a.lhs, *b.lhs);
      return d.empty() ? Difference(*a.rhs, *b.rhs) : d;
    }
    case ExprKind::kAggregate: {
      const auto& a = x.As<AggregateExpr>();
      const auto& b = y.As<AggregateExpr>();
      if (a.op != b.op || a.without != b.without || a.grouping != b.grouping) {
        return "aggregation";
      }
      if ((a.param == nullptr) != (b.param == nullptr)) return "parameter";
      if (a.param != nullptr) {
        std::string d = Difference(*a.param, *b.param);
        if (!d.empty()) return d;
      }
      return Difference(*a.expr, *b.expr);
    }
    case ExprKind::kCall: {
      const auto& a = x.As<Call>();
      const auto& b = y.As<Call>();
      if (a.func != b.func || a.args.size() != b.args.size()) return "call";
      for (size_t i = 0; i < a.args.size(); ++i) {
        std::string d = Difference(*a.args[i], *b.args[i]);
        if (!d.empty()) return d;
      }
      return "";
    }
  }
  return "";
}

void CheckRefusal(const absl::Status& status, std::string_view text) {
  FUZZ_CHECK(absl::IsInvalidArgument(status)) << status << " for " << text;
  FUZZ_CHECK(status.message().find("parse error") != std::string_view::npos)
      << status;
}

void CheckExpr(const std::string& text) {
  const ParseLimits limits;
  auto parsed = ParseExpr(text, limits);
  if (!parsed.ok()) {
    CheckRefusal(parsed.status(), text);
    return;
  }
  CheckTree(**parsed, limits);
  const std::string printed = ExprToString(**parsed);
  ParseLimits again_limits = limits;
  // Escapes and normalised numbers may print longer than the input.
  again_limits.max_bytes = std::max(limits.max_bytes, printed.size());
  auto again = ParseExpr(printed, again_limits);
  FUZZ_CHECK(again.ok()) << text << " -> " << printed << ": " << again.status();
  // Prometheus' printer writes positive infinity as "+Inf", which reads back
  // as a unary plus, and a unary operator binds looser than `^`: `2 * Inf ^
  // 3` prints as `2 * +Inf ^ 3`, another tree. keel prints as Prometheus
  // does, so the round trip is not checked for such a query.
  if (printed.find("+Inf") != std::string::npos) return;
  const std::string difference = Difference(**parsed, **again);
  FUZZ_CHECK(difference.empty())
      << text << " -> " << printed << ": " << difference << " differs";
  FUZZ_CHECK((*again)->height == (*parsed)->height)
      << text << " -> " << printed;
  const std::string reprinted = ExprToString(**again);
  FUZZ_CHECK(reprinted == printed)
      << text << " -> " << printed << " -> " << reprinted;
}

void CheckMetricSelector(const std::string& text) {
  const ParseLimits limits;
  auto parsed = ParseMetricSelector(text, limits);
  if (!parsed.ok()) {
    CheckRefusal(parsed.status(), text);
    return;
  }
  FUZZ_CHECK(parsed->size() <= limits.max_matchers) << parsed->size();
  if (parsed->empty()) return;  // `{}`: nothing to print
  VectorSelector selector;
  selector.matchers = *parsed;
  const std::string printed = ExprToString(selector);
  ParseLimits again_limits = limits;
  again_limits.max_bytes = std::max(limits.max_bytes, printed.size());
  auto again = ParseMetricSelector(printed, again_limits);
  FUZZ_CHECK(again.ok()) << text << " -> " << printed << ": " << again.status();
  FUZZ_CHECK(SameMatchers(*parsed, *again)) << text << " -> " << printed;
}

}  // namespace
}  // namespace keel::query

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = keel::query::Expand(keel::fuzz::AsText(data, size));
  keel::query::CheckExpr(text);
  keel::query::CheckMetricSelector(text);
  return 0;
}
