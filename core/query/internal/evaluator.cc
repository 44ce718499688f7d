#include "core/query/internal/evaluator.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/query/functions.h"

namespace keel::query_internal {

namespace {

// The functions whose value depends on the step even when their arguments
// do not (AtModifierUnsafeFunctions).
bool AtUnsafe(std::string_view name) {
  static constexpr std::string_view kUnsafe[] = {
      "days_in_month",  "day_of_month", "day_of_week", "day_of_year",
      "hour",           "minute",       "month",       "year",
      "predict_linear", "time",         "timestamp"};
  return std::find(std::begin(kUnsafe), std::end(kUnsafe), name) !=
         std::end(kUnsafe);
}

}  // namespace

bool HasDuplicateLabels(const EvalMatrix& m) {
  if (m.size() < 2) return false;
  absl::flat_hash_set<LabelsRef> seen;
  seen.reserve(m.size());
  for (const EvalSeries& s : m) {
    if (!seen.insert(s.metric).second) return true;
  }
  return false;
}

QueryState::QueryState(const core::SeriesStore& store, core::QueryContext& ctx,
                       int64_t start, int64_t end, int64_t lookback_ms,
                       int64_t default_subquery_step_ms)
    : store(store),
      ctx(ctx),
      query_start(start),
      query_end(end),
      lookback_ms(lookback_ms),
      default_subquery_step_ms(default_subquery_step_ms) {}

absl::Status QueryState::Take(uint64_t samples) {
  held += samples;
  if (!ctx.AddSamples(samples)) return ctx.status();
  return absl::OkStatus();
}

void QueryState::Release(uint64_t samples) {
  samples = std::min(samples, held);
  held -= samples;
  ctx.ReleaseSamples(samples);
}

namespace {

// preprocessExprHelper: whether `e` is step invariant; marks the invariant
// children of a node that is not.
bool MarkInvariant(const Expr& e, absl::flat_hash_set<const Expr*>& marks) {
  switch (e.kind()) {
    case ExprKind::kVectorSelector:
      return e.As<VectorSelector>().time.at != AtModifier::kNone;
    case ExprKind::kAggregate:
      return MarkInvariant(*e.As<AggregateExpr>().expr, marks);
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      bool l = MarkInvariant(*b.lhs, marks);
      bool r = MarkInvariant(*b.rhs, marks);
      if (l && r) return true;
      if (l) marks.insert(b.lhs.get());
      if (r) marks.insert(b.rhs.get());
      return false;
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      bool all = !AtUnsafe(c.func->name);
      std::vector<bool> args;
      for (const auto& a : c.args) {
        args.push_back(MarkInvariant(*a, marks));
        all = all && args.back();
      }
      if (all) return true;
      for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i]) marks.insert(c.args[i].get());
      }
      return false;
    }
    case ExprKind::kMatrixSelector:
      return MarkInvariant(*e.As<MatrixSelector>().selector, marks);
    case ExprKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      // The inside is evaluated once per subquery when it can be, whether
      // or not the subquery itself is invariant.
      if (MarkInvariant(*s.expr, marks)) marks.insert(s.expr.get());
      return s.time.at != AtModifier::kNone;
    }
    case ExprKind::kParen:
      return MarkInvariant(*e.As<ParenExpr>().expr, marks);
    case ExprKind::kUnary:
      return MarkInvariant(*e.As<UnaryExpr>().expr, marks);
    case ExprKind::kNumberLiteral:
    case ExprKind::kStringLiteral:
      return true;
  }
  return false;
}

}  // namespace

void QueryState::Preprocess(const Expr& root) {
  if (MarkInvariant(root, invariant)) invariant.insert(&root);
}

Evaluator::Evaluator(QueryState& q, int64_t start, int64_t end,
                     int64_t interval)
    : q_(q), start_(start), end_(end), interval_(interval) {}

void Evaluator::ReleaseMatrix(const EvalMatrix& m) {
  q_.Release(TotalPoints(m));
}

int64_t Evaluator::EffectiveOffset(const TimeModifiers& time) const {
  switch (time.at) {
    case AtModifier::kNone:
      return time.offset_ms;
    case AtModifier::kTimestamp:
      return time.offset_ms + (start_ - time.at_ms);
    case AtModifier::kStart:
      return time.offset_ms + (start_ - q_.query_start);
    case AtModifier::kEnd:
      return time.offset_ms + (start_ - q_.query_end);
  }
  return time.offset_ms;
}

absl::StatusOr<EvalResult> Evaluator::Eval(const Expr& e) {
  KEEL_QUERY_RETURN_IF_ERROR(Work());
  if (q_.invariant.contains(&e)) return EvalInvariant(e);
  return EvalNode(e);
}

absl::StatusOr<EvalMatrix> Evaluator::EvalToMatrix(const Expr& e) {
  absl::StatusOr<EvalResult> r = Eval(e);
  if (!r.ok()) return r.status();
  return std::move(std::get<EvalMatrix>(*r));
}

absl::StatusOr<EvalResult> Evaluator::EvalInvariant(const Expr& e) {
  const Expr& inner = Unparen(e);
  if (inner.kind() == ExprKind::kNumberLiteral ||
      inner.kind() == ExprKind::kStringLiteral) {
    return EvalNode(inner);
  }
  Evaluator once(q_, start_, start_, interval_);
  absl::StatusOr<EvalResult> r = once.EvalNode(e);
  if (!r.ok() || e.Type() == ValueType::kMatrix ||
      std::holds_alternative<std::string>(*r)) {
    return r;
  }
  // The same value at every step.
  EvalMatrix& m = std::get<EvalMatrix>(*r);
  uint64_t steps = static_cast<uint64_t>((end_ - start_) / interval_);
  for (EvalSeries& s : m) {
    KEEL_QUERY_RETURN_IF_ERROR(q_.Take(steps));
    KEEL_QUERY_RETURN_IF_ERROR(Work(steps));
    s.points.reserve(steps + 1);
    double v = s.points[0].v;
    for (int64_t ts = start_ + interval_; ts <= end_; ts += interval_) {
      s.points.push_back({ts, v});
    }
  }
  return r;
}

absl::StatusOr<EvalResult> Evaluator::EvalNode(const Expr& e) {
  switch (e.kind()) {
    case ExprKind::kNumberLiteral: {
      EvalMatrix m(1);
      m[0].metric = q_.pool.Empty();
      uint64_t steps = static_cast<uint64_t>((end_ - start_) / interval_) + 1;
      KEEL_QUERY_RETURN_IF_ERROR(q_.Take(steps));
      KEEL_QUERY_RETURN_IF_ERROR(Work(steps));
      m[0].points.reserve(steps);
      double v = e.As<query::NumberLiteral>().value;
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        m[0].points.push_back({ts, v});
      }
      return m;
    }
    case ExprKind::kStringLiteral:
      return e.As<StringLiteral>().value;
    case ExprKind::kParen:
      return Eval(*e.As<ParenExpr>().expr);
    case ExprKind::kVectorSelector:
      return EvalVectorSelector(e.As<VectorSelector>(), false);
    case ExprKind::kMatrixSelector:
      return EvalMatrixSelector(e.As<MatrixSelector>());
    case ExprKind::kSubquery:
      return EvalSubquery(e.As<SubqueryExpr>());
    case ExprKind::kUnary:
      return EvalUnary(e.As<UnaryExpr>());
    case ExprKind::kBinary:
      return EvalBinary(e.As<BinaryExpr>());
    case ExprKind::kAggregate:
      return EvalAggregate(e.As<AggregateExpr>());
    case ExprKind::kCall:
      return EvalCall(e.As<Call>());
  }
  return absl::InternalError("unknown expression");
}

absl::StatusOr<EvalMatrix> Evaluator::EvalUnary(const UnaryExpr& u) {
  absl::StatusOr<EvalMatrix> m = EvalToMatrix(*u.expr);
  if (!m.ok() || !u.negate) return m;
  for (EvalSeries& s : *m) {
    s.metric = q_.pool.Intern(WithoutMetricName(*s.metric));
    for (EvalPoint& p : s.points) p.v = -p.v;
  }
  if (HasDuplicateLabels(*m)) return ExecutionError(kDuplicateLabelset);
  return m;
}

}  // namespace keel::query_internal
