#include "core/query/printer.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/query/duration.h"
#include "core/query/functions.h"
#include "core/query/internal/go_text.h"
#include "core/series/labels.h"

namespace keel::query {
namespace {

using query_internal::AbslView;
using query_internal::GoQuote;

// ` @ 12.000` and ` offset 5m` / ` offset -5m`, @ first.
std::string TimeSuffix(const TimeModifiers& t) {
  std::string out;
  switch (t.at) {
    case AtModifier::kTimestamp:
      absl::StrAppend(&out, " @ ",
                      query_internal::GoFormatFixed(
                          static_cast<double>(t.at_ms) / 1000.0, 3));
      break;
    case AtModifier::kStart:
      out += " @ start()";
      break;
    case AtModifier::kEnd:
      out += " @ end()";
      break;
    case AtModifier::kNone:
      break;
  }
  if (t.offset_ms > 0) {
    absl::StrAppend(&out, " offset ", FormatDuration(t.offset_ms));
  } else if (t.offset_ms < 0) {
    absl::StrAppend(&out, " offset -", FormatDuration(-t.offset_ms));
  }
  return out;
}

// The selector without its offset and @.
std::string SelectorBody(const VectorSelector& vs) {
  std::vector<std::string> matchers;
  for (const core::Matcher& m : vs.matchers) {
    // The name written outside the braces. Prometheus 2.42 also drops a
    // `__name__=""` when there is no name, printing `{__name__="",a="b"}`
    // as `{a="b"}`, which selects other series: keel writes it.
    if (!vs.name.empty() && m.name() == core::kMetricNameLabel &&
        m.type() == core::MatchType::kEqual && m.value() == vs.name) {
      continue;
    }
    matchers.push_back(absl::StrCat(m.name(),
                                    AbslView(core::MatchTypeString(m.type())),
                                    GoQuote(m.value())));
  }
  if (matchers.empty()) return vs.name;
  std::sort(matchers.begin(), matchers.end());
  return absl::StrCat(vs.name, "{", absl::StrJoin(matchers, ","), "}");
}

void Print(const Expr& e, std::string& out);

void PrintList(const std::vector<ExprPtr>& list, std::string& out) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ", ";
    Print(*list[i], out);
  }
}

void Print(const Expr& e, std::string& out) {
  switch (e.kind()) {
    case ExprKind::kNumberLiteral:
      out += query_internal::GoFormatFloat(e.As<NumberLiteral>().value);
      return;
    case ExprKind::kStringLiteral:
      out += GoQuote(e.As<StringLiteral>().value);
      return;
    case ExprKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      absl::StrAppend(&out, SelectorBody(vs), TimeSuffix(vs.time));
      return;
    }
    case ExprKind::kMatrixSelector: {
      const auto& m = e.As<MatrixSelector>();
      absl::StrAppend(&out, SelectorBody(*m.selector), "[",
                      FormatDuration(m.range_ms), "]",
                      TimeSuffix(m.selector->time));
      return;
    }
    case ExprKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      Print(*s.expr, out);
      absl::StrAppend(&out, "[", FormatDuration(s.range_ms), ":",
                      s.step_ms != 0 ? FormatDuration(s.step_ms) : "", "]",
                      TimeSuffix(s.time));
      return;
    }
    case ExprKind::kParen:
      out += '(';
      Print(*e.As<ParenExpr>().expr, out);
      out += ')';
      return;
    case ExprKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      out += u.negate ? '-' : '+';
      Print(*u.expr, out);
      return;
    }
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      Print(*b.lhs, out);
      absl::StrAppend(&out, " ", AbslView(BinaryOpString(b.op)),
                      b.return_bool ? " bool" : "");
      // As Prometheus: `ignoring()` and the group modifiers that come
      // with it are not written.
      const auto& vm = b.matching;
      if (vm && (!vm->matching_labels.empty() || vm->on)) {
        absl::StrAppend(&out, vm->on ? " on (" : " ignoring (",
                        absl::StrJoin(vm->matching_labels, ", "), ")");
        if (vm->card == Cardinality::kManyToOne ||
            vm->card == Cardinality::kOneToMany) {
          absl::StrAppend(&out,
                          vm->card == Cardinality::kManyToOne
                              ? " group_left ("
                              : " group_right (",
                          absl::StrJoin(vm->include, ", "), ")");
        }
      }
      out += ' ';
      Print(*b.rhs, out);
      return;
    }
    case ExprKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      out += AggregateOpString(a.op);
      if (a.without) {
        absl::StrAppend(&out, " without (", absl::StrJoin(a.grouping, ", "),
                        ") ");
      } else if (!a.grouping.empty()) {
        absl::StrAppend(&out, " by (", absl::StrJoin(a.grouping, ", "), ") ");
      }
      out += '(';
      if (a.param != nullptr) {
        Print(*a.param, out);
        out += ", ";
      }
      Print(*a.expr, out);
      out += ')';
      return;
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      absl::StrAppend(&out, AbslView(c.func->name), "(");
      PrintList(c.args, out);
      out += ')';
      return;
    }
  }
}

}  // namespace

std::string ExprToString(const Expr& expr) {
  std::string out;
  Print(expr, out);
  return out;
}

}  // namespace keel::query
