// The evaluator: walks a syntax tree over a time range (start, end, step)
// as Prometheus 2.42's promql/engine.go does. Every node evaluates to a
// matrix with one point per step at most (a string literal to its text);
// functions of range vectors slide one window per series over the steps,
// reading each series once through its chunk iterator; parts that do not
// depend on the step (`@`, literals) are evaluated once and repeated.
//
// Samples held (selected windows, intermediate and final points) are
// charged to the QueryContext and given back when freed, so max_samples
// bounds the samples held at once; its deadline and cancellation are
// polled in every loop.
//
// Its parts live by concern: evaluator.cc (dispatch, step-invariant
// parts, sample accounting), evaluator_selectors.cc (selectors and
// subqueries), evaluator_steps.cc (the step loop of operators, aggregations
// and instant functions), evaluator_windows.cc (functions of range vectors).
//
// Thread safety: one query at a time per QueryState.
#ifndef KEEL_CORE_QUERY_INTERNAL_EVALUATOR_H_
#define KEEL_CORE_QUERY_INTERNAL_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/query/internal/eval_types.h"
#include "core/series/query_context.h"
#include "core/series/series_store.h"

namespace keel::query_internal {

// What all evaluators of one query share.
struct QueryState {
  QueryState(const core::SeriesStore& store, core::QueryContext& ctx,
             int64_t start, int64_t end, int64_t lookback_ms,
             int64_t default_subquery_step_ms);

  // Marks the step-invariant parts of `root` as Prometheus'
  // PreprocessExpr wraps them in StepInvariantExpr.
  void Preprocess(const Expr& root);

  absl::Status Take(uint64_t samples);
  void Release(uint64_t samples);

  const core::SeriesStore& store;
  core::QueryContext& ctx;
  LabelPool pool;
  const int64_t query_start;  // what @ start() means
  const int64_t query_end;    // what @ end() means
  const int64_t lookback_ms;
  const int64_t default_subquery_step_ms;
  absl::flat_hash_set<const Expr*> invariant;
  uint64_t held = 0;  // samples charged and not yet released
};

using EvalResult = std::variant<EvalMatrix, std::string>;

// The execution error of a result with two series of one label set.
inline constexpr std::string_view kDuplicateLabelset =
    "vector cannot contain metrics with the same labelset";

class Evaluator {
 public:
  // Steps start, start + interval, ..., up to end. REQUIRES: interval > 0.
  Evaluator(QueryState& q, int64_t start, int64_t end, int64_t interval);

  absl::StatusOr<EvalResult> Eval(const Expr& e);

 private:
  using KeyFn = std::function<void(const core::Labels&, std::string*)>;
  using StepFn = std::function<absl::Status(
      std::span<const EvalVector> args,
      std::span<const std::vector<const std::string*>> keys, int64_t ts,
      EvalVector& out)>;

  absl::StatusOr<EvalResult> EvalNode(const Expr& e);
  absl::StatusOr<EvalMatrix> EvalToMatrix(const Expr& e);
  absl::StatusOr<EvalResult> EvalInvariant(const Expr& e);

  // Prometheus' rangeEval: evaluates `exprs` (null or string ones give no
  // input), then calls `fn` at each step with each one's samples there.
  absl::StatusOr<EvalMatrix> RangeEval(std::span<const Expr* const> exprs,
                                       const KeyFn& key, const StepFn& fn);
  absl::StatusOr<EvalMatrix> RangeEvalInputs(std::vector<EvalMatrix> inputs,
                                             const KeyFn& key,
                                             const StepFn& fn);

  absl::StatusOr<EvalMatrix> EvalVectorSelector(const VectorSelector& vs,
                                                bool timestamps);
  absl::StatusOr<EvalMatrix> EvalMatrixSelector(const MatrixSelector& ms);
  absl::StatusOr<EvalMatrix> EvalSubquery(const query::SubqueryExpr& sq);
  absl::StatusOr<EvalMatrix> EvalUnary(const query::UnaryExpr& u);
  absl::StatusOr<EvalMatrix> EvalBinary(const BinaryExpr& b);
  absl::StatusOr<EvalMatrix> EvalAggregate(const query::AggregateExpr& a);
  absl::StatusOr<EvalMatrix> EvalCall(const Call& c);
  absl::StatusOr<EvalMatrix> EvalRangeCall(const Call& c, std::size_t index);

  absl::StatusOr<core::SeriesSet> Select(const VectorSelector& vs, int64_t mint,
                                         int64_t maxt);
  // The offset a selector or subquery is read at: `offset`, plus for `@`
  // the distance from this evaluator's start to the @ time (Prometheus'
  // setOffsetForAtModifier).
  int64_t EffectiveOffset(const query::TimeModifiers& time) const;
  // Counts work on the context (inline: it runs for every point read).
  absl::Status Work(uint64_t units = 1) {
    if (!q_.ctx.Work(units)) [[unlikely]] {
      return q_.ctx.status();
    }
    return absl::OkStatus();
  }
  void ReleaseMatrix(const EvalMatrix& m);
  // Room for a series' points at every step from `ts` on: reserved before
  // a series is filled step by step, then FitPoints gives back what a
  // sparse series left unused, so the room held beyond the points is one
  // series' at most.
  void ReservePoints(int64_t ts, std::vector<EvalPoint>& points) const {
    points.reserve(static_cast<std::size_t>((end_ - ts) / interval_) + 1);
  }
  static void FitPoints(std::vector<EvalPoint>& points) {
    if (points.capacity() / 2 > points.size()) points.shrink_to_fit();
  }

  QueryState& q_;
  const int64_t start_;
  const int64_t end_;
  const int64_t interval_;
};

// Whether two series of `m` have the same labels.
bool HasDuplicateLabels(const EvalMatrix& m);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_EVALUATOR_H_
