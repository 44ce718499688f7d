#include <utility>

#include "core/query/internal/evaluator.h"
#include "core/query/internal/selected_series.h"

namespace keel::query_internal {

absl::StatusOr<core::SeriesSet> Evaluator::Select(const VectorSelector& vs,
                                                  int64_t mint, int64_t maxt) {
  return q_.store.Select(vs.matchers, mint, maxt, q_.ctx);
}

absl::StatusOr<EvalMatrix> Evaluator::EvalVectorSelector(
    const VectorSelector& vs, bool timestamps) {
  // timestamp(x @ t) reads the sample at t itself, ignoring `offset`, as
  // Prometheus' special case for timestamp() does.
  bool fixed = timestamps && vs.time.at != AtModifier::kNone;
  int64_t fixed_ref = 0;
  int64_t offset = EffectiveOffset(vs.time);
  if (fixed) {
    fixed_ref = vs.time.at == AtModifier::kTimestamp ? vs.time.at_ms
                : vs.time.at == AtModifier::kStart   ? q_.query_start
                                                     : q_.query_end;
  }
  int64_t mint =
      fixed ? fixed_ref - q_.lookback_ms : start_ - offset - q_.lookback_ms;
  int64_t maxt = fixed ? fixed_ref : end_ - offset;
  absl::StatusOr<core::SeriesSet> set = Select(vs, mint, maxt);
  if (!set.ok()) return set.status();
  EvalMatrix out;
  auto entries = set->series();
  for (std::size_t index : SortedEntries(*set)) {
    const auto& entry = entries[index];
    PointCursor cursor(*set, entry);
    EvalSeries series{q_.pool.Intern(entry.labels), {}};
    if (timestamps)
      series.metric = q_.pool.Intern(WithoutMetricName(entry.labels));
    ReservePoints(start_, series.points);
    EvalPoint next;
    bool has_next = cursor.Next(&next);
    EvalPoint last{0, 0};
    bool has_last = false;
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      int64_t ref = fixed ? fixed_ref : ts - offset;
      while (has_next && next.t <= ref) {
        last = next;
        has_last = true;
        has_next = cursor.Next(&next);
        KEEL_QUERY_RETURN_IF_ERROR(Work());
      }
      if (!has_last || last.t < ref - q_.lookback_ms || IsStale(last.v)) {
        continue;
      }
      KEEL_QUERY_RETURN_IF_ERROR(q_.Take(1));
      series.points.push_back(
          {ts, timestamps ? static_cast<double>(last.t) / 1000 : last.v});
    }
    KEEL_QUERY_RETURN_IF_ERROR(Work());
    FitPoints(series.points);
    if (!series.points.empty()) out.push_back(std::move(series));
  }
  return out;
}

absl::StatusOr<EvalMatrix> Evaluator::EvalMatrixSelector(
    const MatrixSelector& ms) {
  if (start_ != end_) {
    return absl::InternalError("cannot do range evaluation of matrix selector");
  }
  int64_t maxt = start_ - EffectiveOffset(ms.selector->time);
  int64_t mint = maxt - ms.range_ms;
  absl::StatusOr<core::SeriesSet> set = Select(*ms.selector, mint, maxt);
  if (!set.ok()) return set.status();
  EvalMatrix out;
  auto entries = set->series();
  for (std::size_t index : SortedEntries(*set)) {
    PointCursor cursor(*set, entries[index]);
    EvalSeries series{q_.pool.Intern(entries[index].labels), {}};
    EvalPoint p;
    while (cursor.Next(&p)) {
      KEEL_QUERY_RETURN_IF_ERROR(Work());
      if (p.t < mint || p.t > maxt || IsStale(p.v)) continue;
      KEEL_QUERY_RETURN_IF_ERROR(q_.Take(1));
      series.points.push_back(p);
    }
    if (!series.points.empty()) out.push_back(std::move(series));
  }
  return out;
}

absl::StatusOr<EvalMatrix> Evaluator::EvalSubquery(const SubqueryExpr& sq) {
  int64_t offset = EffectiveOffset(sq.time);
  int64_t step = sq.step_ms != 0 ? sq.step_ms : q_.default_subquery_step_ms;
  int64_t first = start_ - offset - sq.range_ms;
  // The first multiple of the step at or after `first` (Go's division
  // truncates toward zero, and so does C++'s).
  int64_t start = step * (first / step);
  if (start < first) start += step;
  Evaluator inner(q_, start, end_ - offset, step);
  if (start > end_ - offset) return EvalMatrix{};
  return inner.EvalToMatrix(*sq.expr);
}

}  // namespace keel::query_internal
