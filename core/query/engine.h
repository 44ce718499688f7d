// Engine: evaluates PromQL syntax trees (parser.h) over a SeriesStore with
// the semantics of Prometheus 2.42: the 5-minute lookback and stale markers
// for instant selectors, range selectors closed at both ends
// [t - range, t], offset and @ (start() and end() are the query's), step-
// aligned subqueries, every function and aggregation of 2.42 but those of
// native histograms, which keel does not store.
//
//   keel::query::Engine engine(store);
//   auto expr = keel::query::ParseExpr("sum by (job) (rate(x[5m]))");
//   keel::core::QueryContext ctx(limits, [&] { return req.ClientGone(); });
//   absl::StatusOr<keel::query::Value> v =
//       engine.Range(**expr, start_ms, end_ms, step_ms, ctx);
//   if (!v.ok()) ErrorTypeName(ClassifyError(v.status()));  // value.h
//
// Results are ordered as Prometheus returns them: a range query's matrix
// by labels; an instant vector in evaluation order (selected series by
// labels, aggregation groups by first appearance, sort() and sort_desc()
// by value).
//
// Limits: evaluation runs under the QueryContext: its deadline and
// cancellation are polled throughout, and every sample the query holds
// (selected windows, intermediate and final results) is charged to its
// sample budget and given back once freed, so max_samples bounds the
// samples held at once as Prometheus' --query.max-samples does. When
// Instant or Range returns, the result's samples are still charged.
//
// Errors: InvalidArgument for a request Prometheus refuses as bad_data (a
// range query over a range vector or string, a bad step); Unimplemented
// for what keel does not support, naming it; FailedPrecondition for an
// execution error, with Prometheus' message ("vector cannot contain
// metrics with the same labelset", "found duplicate series for the match
// group ..."); the context's DeadlineExceeded, Cancelled or
// ResourceExhausted when it fails.
//
// Thread safety: an Engine is immutable; queries may run concurrently on
// one engine, each with its own QueryContext. The store must outlive it. A
// query gives its thread's cache of decoded sealed frames back when it
// returns (core::ReturnThreadSampleCache), for the next query on any
// thread.
#ifndef KEEL_CORE_QUERY_ENGINE_H_
#define KEEL_CORE_QUERY_ENGINE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/query/ast.h"
#include "core/query/value.h"
#include "core/series/query_context.h"
#include "core/series/series_store.h"

namespace keel::query {

struct EngineOptions {
  // How far back an instant selector looks for a sample (Prometheus'
  // --query.lookback-delta).
  int64_t lookback_delta_ms = 5 * 60 * 1000;
  // The step of a subquery written without one (`x[1h:]`): Prometheus
  // takes its global evaluation interval, 1m by default.
  int64_t default_subquery_step_ms = 60 * 1000;
  // Points per series a range query may ask for, as Prometheus' API
  // refuses more than 11000.
  int64_t max_points_per_series = 11000;
};

class Engine {
 public:
  explicit Engine(const core::SeriesStore& store, EngineOptions options = {});

  // The expression at `t_ms`: a Scalar, String, Vector or (for a range
  // vector expression) Matrix.
  absl::StatusOr<Value> Instant(const Expr& expr, int64_t t_ms,
                                core::QueryContext& ctx) const;

  // The expression at start, start + step, ..., end: a Matrix sorted by
  // labels. Errors: InvalidArgument unless expr is a scalar or instant
  // vector, step > 0, end >= start and the steps fit the points limit.
  absl::StatusOr<Value> Range(const Expr& expr, int64_t start_ms,
                              int64_t end_ms, int64_t step_ms,
                              core::QueryContext& ctx) const;

 private:
  const core::SeriesStore& store_;
  EngineOptions options_;
};

}  // namespace keel::query

#endif  // KEEL_CORE_QUERY_ENGINE_H_
