#include "core/query/engine.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/query/internal/eval_types.h"
#include "core/query/internal/evaluator.h"

namespace keel::query {
namespace {

using query_internal::EvalMatrix;
using query_internal::EvalResult;
using query_internal::Evaluator;
using query_internal::QueryState;

Matrix ToMatrix(EvalMatrix m) {
  Matrix out;
  out.reserve(m.size());
  for (auto& s : m) {
    out.push_back(Series{*s.metric, std::move(s.points)});
  }
  return out;
}

// Gives the thread's decode cache back when a query returns: keel serve
// answers queries on hundreds of threads (core::ReturnThreadSampleCache).
class ReturnSampleCacheOnExit {
 public:
  ReturnSampleCacheOnExit() = default;
  ReturnSampleCacheOnExit(const ReturnSampleCacheOnExit&) = delete;
  ReturnSampleCacheOnExit& operator=(const ReturnSampleCacheOnExit&) = delete;
  ~ReturnSampleCacheOnExit() { core::ReturnThreadSampleCache(); }
};

}  // namespace

Engine::Engine(const core::SeriesStore& store, EngineOptions options)
    : store_(store), options_(options) {}

absl::StatusOr<Value> Engine::Instant(const Expr& expr, int64_t t_ms,
                                      core::QueryContext& ctx) const {
  ReturnSampleCacheOnExit give_back;
  QueryState q(store_, ctx, t_ms, t_ms, options_.lookback_delta_ms,
               options_.default_subquery_step_ms);
  q.Preprocess(expr);
  Evaluator ev(q, t_ms, t_ms, 1);
  absl::StatusOr<EvalResult> r = ev.Eval(expr);
  if (!r.ok()) return r.status();
  if (auto* s = std::get_if<std::string>(&*r)) return String{t_ms, *s};
  EvalMatrix& m = std::get<EvalMatrix>(*r);
  switch (expr.Type()) {
    case ValueType::kScalar:
      return Scalar{t_ms, m.empty() ? 0 : m[0].points[0].v};
    case ValueType::kVector: {
      Vector out;
      out.reserve(m.size());
      for (auto& s : m) out.push_back({*s.metric, t_ms, s.points[0].v});
      return out;
    }
    default:
      return ToMatrix(std::move(m));
  }
}

absl::StatusOr<Value> Engine::Range(const Expr& expr, int64_t start_ms,
                                    int64_t end_ms, int64_t step_ms,
                                    core::QueryContext& ctx) const {
  ReturnSampleCacheOnExit give_back;
  ValueType type = expr.Type();
  if (type != ValueType::kVector && type != ValueType::kScalar) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid expression type \"", std::string(DocumentedType(type)),
        "\" for range query, must be Scalar or instant Vector"));
  }
  if (step_ms <= 0) {
    return absl::InvalidArgumentError(
        "zero or negative query resolution step widths are not accepted. "
        "Try a positive integer");
  }
  if (end_ms < start_ms) {
    return absl::InvalidArgumentError(
        "end timestamp must not be before start time");
  }
  if ((end_ms - start_ms) / step_ms > options_.max_points_per_series) {
    return absl::InvalidArgumentError(absl::StrCat(
        "exceeded maximum resolution of ", options_.max_points_per_series,
        " points per timeseries. Try decreasing the query resolution "
        "(?step=XX)"));
  }
  QueryState q(store_, ctx, start_ms, end_ms, options_.lookback_delta_ms,
               options_.default_subquery_step_ms);
  q.Preprocess(expr);
  Evaluator ev(q, start_ms, end_ms, step_ms);
  absl::StatusOr<EvalResult> r = ev.Eval(expr);
  if (!r.ok()) return r.status();
  EvalMatrix& m = std::get<EvalMatrix>(*r);
  std::sort(m.begin(), m.end(), [](const auto& a, const auto& b) {
    return query_internal::CompareLabels(*a.metric, *b.metric) < 0;
  });
  return ToMatrix(std::move(m));
}

}  // namespace keel::query
