#include "core/query/internal/checker.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/functions.h"
#include "core/query/internal/go_text.h"
#include "core/series/labels.h"

namespace keel::query_internal {
namespace {

using query::BinaryExpr;
using query::Cardinality;
using query::DocumentedType;
using query::Expr;
using query::ExprKind;
using query::ValueType;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Checker {
 public:
  explicit Checker(std::string_view input) : input_(input) {}

  std::optional<ParseError> Run(Expr& root) {
    Check(root);
    return std::move(error_);
  }

 private:
  void Fail(uint32_t pos, std::string message) {
    if (!error_) error_ = ParseError{pos, std::move(message)};
  }

  // The checked node's type; after an error the result does not matter.
  ValueType Check(Expr& e) {
    if (error_) return ValueType::kNone;
    switch (e.kind()) {
      case ExprKind::kNumberLiteral:
        return ValueType::kScalar;
      case ExprKind::kStringLiteral:
        return ValueType::kString;
      case ExprKind::kVectorSelector:
        CheckSelector(e.As<query::VectorSelector>());
        return ValueType::kVector;
      case ExprKind::kMatrixSelector:
        Check(*e.As<query::MatrixSelector>().selector);
        return ValueType::kMatrix;
      case ExprKind::kSubquery: {
        ValueType t = Check(*e.As<query::SubqueryExpr>().expr);
        if (!error_ && t != ValueType::kVector) {
          Fail(e.pos.start,
               absl::StrCat("subquery is only allowed on instant vector, got ",
                            AbslView(query::ValueTypeName(t)), " instead"));
        }
        return ValueType::kMatrix;
      }
      case ExprKind::kParen:
        return Check(*e.As<query::ParenExpr>().expr);
      case ExprKind::kUnary: {
        ValueType t = Check(*e.As<query::UnaryExpr>().expr);
        if (!error_ && t != ValueType::kScalar && t != ValueType::kVector) {
          Fail(e.pos.start,
               absl::StrCat("unary expression only allowed on expressions of "
                            "type scalar or instant vector, got ",
                            GoQuote(DocumentedType(t))));
        }
        return t;
      }
      case ExprKind::kBinary:
        return CheckBinary(e.As<BinaryExpr>());
      case ExprKind::kAggregate: {
        auto& a = e.As<query::AggregateExpr>();
        ExpectType(*a.expr, ValueType::kVector, "aggregation expression");
        if (a.param != nullptr) {
          ExpectType(*a.param,
                     a.op == query::AggregateOp::kCountValues
                         ? ValueType::kString
                         : ValueType::kScalar,
                     "aggregation parameter");
        }
        return ValueType::kVector;
      }
      case ExprKind::kCall:
        return CheckCall(e.As<query::Call>());
    }
    return ValueType::kNone;
  }

  void ExpectType(Expr& e, ValueType want, std::string_view context) {
    ValueType t = Check(e);
    if (!error_ && t != want) {
      Fail(e.pos.start,
           absl::StrCat("expected type ", AbslView(DocumentedType(want)),
                        " in ", AbslView(context), ", got ",
                        AbslView(DocumentedType(t))));
    }
  }

  void CheckSelector(const query::VectorSelector& vs) {
    if (!vs.name.empty()) {
      // The last matcher is the name's own.
      for (std::size_t i = 0; i + 1 < vs.matchers.size(); ++i) {
        if (vs.matchers[i].name() == core::kMetricNameLabel) {
          Fail(vs.pos.start, absl::StrCat("metric name must not be set twice: ",
                                          GoQuote(vs.name), " or ",
                                          GoQuote(vs.matchers[i].value())));
        }
      }
      return;
    }
    for (const core::Matcher& m : vs.matchers) {
      if (!m.MatchesEmpty()) return;
    }
    Fail(vs.pos.start,
         "vector selector must contain at least one non-empty matcher");
  }

  // Where Prometheus points at a binary operator: from the end of its left
  // side, past spaces.
  uint32_t OperatorPos(const BinaryExpr& b) const {
    uint32_t p = b.lhs->pos.end;
    while (p < input_.size() && IsSpace(input_[p])) ++p;
    return p;
  }

  ValueType CheckBinary(BinaryExpr& b) {
    const ValueType lt = Check(*b.lhs);
    const ValueType rt = Check(*b.rhs);
    if (error_) return ValueType::kNone;
    const bool set_op = query::IsSetOp(b.op);
    const bool comparison = query::IsComparisonOp(b.op);
    const std::string quoted_op = GoQuote(query::BinaryOpString(b.op));
    if (b.return_bool && !comparison) {
      Fail(OperatorPos(b),
           "bool modifier can only be used on comparison operators");
    }
    if (comparison && !b.return_bool && lt == ValueType::kScalar &&
        rt == ValueType::kScalar) {
      Fail(OperatorPos(b),
           "comparisons between scalars must use BOOL modifier");
    }
    if (set_op && b.matching && b.matching->card == Cardinality::kOneToOne) {
      b.matching->card = Cardinality::kManyToMany;
    }
    if (b.matching && b.matching->on) {
      for (const std::string& l1 : b.matching->matching_labels) {
        for (const std::string& l2 : b.matching->include) {
          if (l1 == l2) {
            Fail(
                OperatorPos(b),
                absl::StrCat("label ", GoQuote(l1),
                             " must not occur in ON and GROUP clause at once"));
          }
        }
      }
    }
    auto operand_ok = [](ValueType t) {
      return t == ValueType::kScalar || t == ValueType::kVector;
    };
    if (!operand_ok(lt)) {
      Fail(b.lhs->pos.start,
           "binary expression must contain only scalar and instant vector "
           "types");
    }
    if (!operand_ok(rt)) {
      Fail(b.rhs->pos.start,
           "binary expression must contain only scalar and instant vector "
           "types");
    }
    if ((lt != ValueType::kVector || rt != ValueType::kVector) && b.matching) {
      if (!b.matching->matching_labels.empty()) {
        Fail(b.pos.start,
             "vector matching only allowed between instant vectors");
      }
      b.matching.reset();
    } else if (set_op && b.matching) {
      if (b.matching->card == Cardinality::kOneToMany ||
          b.matching->card == Cardinality::kManyToOne) {
        Fail(b.pos.start,
             absl::StrCat("no grouping allowed for ", quoted_op, " operation"));
      }
      if (b.matching->card != Cardinality::kManyToMany) {
        Fail(b.pos.start, "set operations must always be many-to-many");
      }
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && set_op) {
      Fail(b.pos.start,
           absl::StrCat("set operator ", quoted_op,
                        " not allowed in binary scalar expression"));
    }
    return lt == ValueType::kScalar && rt == ValueType::kScalar
               ? ValueType::kScalar
               : ValueType::kVector;
  }

  ValueType CheckCall(query::Call& c) {
    const query::Function& f = *c.func;
    const std::size_t nargs = f.arg_types.size();
    const std::size_t given = c.args.size();
    const std::string quoted_name = GoQuote(f.name);
    if (f.variadic == 0) {
      if (nargs != given) {
        Fail(c.pos.start,
             absl::StrCat("expected ", nargs, " argument(s) in call to ",
                          quoted_name, ", got ", given));
      }
    } else {
      const std::size_t required = nargs - 1;
      if (required > given) {
        Fail(c.pos.start, absl::StrCat("expected at least ", required,
                                       " argument(s) in call to ", quoted_name,
                                       ", got ", given));
      } else if (f.variadic > 0 &&
                 required + static_cast<std::size_t>(f.variadic) < given) {
        Fail(c.pos.start,
             absl::StrCat("expected at most ",
                          required + static_cast<std::size_t>(f.variadic),
                          " argument(s) in call to ", quoted_name, ", got ",
                          given));
      }
    }
    const std::string context = absl::StrCat("call to function ", quoted_name);
    for (std::size_t i = 0; i < given && !error_; ++i) {
      std::size_t t = i;
      if (t >= nargs) {
        if (f.variadic == 0) break;
        t = nargs - 1;
      }
      ExpectType(*c.args[i], f.arg_types[t], context);
    }
    return f.return_type;
  }

  std::string_view input_;
  std::optional<ParseError> error_;
};

}  // namespace

std::optional<ParseError> CheckAst(query::Expr& root, std::string_view input) {
  return Checker(input).Run(root);
}

}  // namespace keel::query_internal
