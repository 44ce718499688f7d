// The evaluator under a QueryContext: samples held at once bounded (not
// samples ever loaded), cancellation and deadlines stop it, and errors map
// to Prometheus' API error types.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/query/engine.h"
#include "core/query/parser.h"

namespace keel::query {
namespace {

// One series, a sample a minute for `n` minutes.
void Load(core::SeriesStore& store, int n) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(
        store.Append({{"__name__", "x"}, {"job", "a"}}, int64_t{i} * 60000, i)
            .ok());
  }
}

absl::StatusOr<Value> RangeQuery(const Engine& engine, const char* text,
                                 int64_t end, core::QueryContext& ctx) {
  auto expr = ParseExpr(text);
  REQUIRE(expr.ok());
  return engine.Range(**expr, 0, end, 60000, ctx);
}

TEST_CASE("max_samples bounds the samples held at once") {
  core::SeriesStore store;
  Load(store, 100);
  Engine engine(store);
  core::QueryLimits limits = core::QueryLimits::Unbounded();
  // 100 window samples and 100 result points pass through, never more
  // than about 102 at once.
  limits.max_samples = 150;
  core::QueryContext ctx(limits);
  auto v = RangeQuery(engine, "count_over_time(x[1m])", 99 * 60000, ctx);
  REQUIRE(v.ok());
  REQUIRE(std::get<Matrix>(*v)[0].points.size() == 100);
  // The result's points stay charged.
  CHECK(ctx.samples() == 100);

  limits.max_samples = 50;
  core::QueryContext small(limits);
  v = RangeQuery(engine, "count_over_time(x[1m])", 99 * 60000, small);
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(ErrorTypeName(ClassifyError(v.status())) == "execution");
}

TEST_CASE("cancellation and deadlines stop an evaluation") {
  core::SeriesStore store;
  Load(store, 3000);
  Engine engine(store);
  core::QueryContext cancelled(core::QueryLimits::Unbounded(),
                               [] { return true; });
  cancelled.Cancel();
  auto v = RangeQuery(engine, "rate(x[5m])", 2999 * 60000, cancelled);
  REQUIRE_FALSE(v.ok());
  CHECK(ErrorTypeName(ClassifyError(v.status())) == "canceled");

  core::QueryLimits limits = core::QueryLimits::Unbounded();
  limits.timeout_ms = 1;
  core::QueryContext late(limits);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  v = RangeQuery(engine, "sum_over_time(x[1h])", 2999 * 60000, late);
  REQUIRE_FALSE(v.ok());
  CHECK(ErrorTypeName(ClassifyError(v.status())) == "timeout");
}

TEST_CASE("errors map to Prometheus' error types") {
  core::SeriesStore store;
  Load(store, 10);
  Engine engine(store);
  core::QueryContext ctx(core::QueryLimits::Unbounded());
  auto v = RangeQuery(engine, "x[5m]", 60000, ctx);
  REQUIRE_FALSE(v.ok());
  CHECK(ErrorTypeName(ClassifyError(v.status())) == "bad_data");

  auto expr = ParseExpr("x");
  REQUIRE(expr.ok());
  v = engine.Range(**expr, 0, 60000, 0, ctx);
  REQUIRE_FALSE(v.ok());
  CHECK(ErrorTypeName(ClassifyError(v.status())) == "bad_data");
  v = engine.Range(**expr, 0, 20000 * int64_t{60000}, 60000, ctx);
  REQUIRE_FALSE(v.ok());
  CHECK(ErrorTypeName(ClassifyError(v.status())) == "bad_data");

  expr = ParseExpr("-{job=\"a\"} or -x");
  REQUIRE(expr.ok());
  v = engine.Instant(**expr, 60000, ctx);
  REQUIRE(v.ok());
  expr = ParseExpr("label_replace(x, \"job\", \"\", \"job\", \"(\")");
  REQUIRE(expr.ok());
  v = engine.Instant(**expr, 60000, ctx);
  REQUIRE_FALSE(v.ok());
  CHECK(ErrorTypeName(ClassifyError(v.status())) == "execution");
  CHECK(ResultTypeName(Value(Scalar{})) == "scalar");
  CHECK(ResultTypeName(Value(Matrix{})) == "matrix");
}

}  // namespace
}  // namespace keel::query
