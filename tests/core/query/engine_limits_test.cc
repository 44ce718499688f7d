// The evaluator under a QueryContext: samples held at once bounded (not
// samples ever loaded), cancellation and deadlines stop it, and errors map
// to Prometheus' API error types.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/stats.h"
#include "alloc/thread_arena.h"
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

uint64_t ArenaAllocated(const std::string& name) {
  for (const alloc::ArenaStats& a : alloc::CaptureStats().arenas) {
    if (a.name == name) return a.memory.allocated;
  }
  return 0;
}

// keel serve answers queries on hundreds of request threads: each that once
// read sealed frames must not keep a cache of them (0.6 MiB) for its life.
TEST_CASE("request threads share the decoded sealed frames' caches") {
  core::SeriesStoreOptions options;
  options.chunk_window_ms = 3600000;
  core::SeriesStore store(options);
  for (int s = 0; s < 50; ++s) {
    for (int i = 0; i < 6 * 240; ++i) {  // six windows, a sample each 15 s
      REQUIRE(store
                  .Append({{"__name__", "x"}, {"i", absl::StrCat(s)}},
                          int64_t{i} * 15000, (i * 7 + s) % 1000 / 8.0)
                  .ok());
    }
  }
  REQUIRE(store.SealWindows(INT64_MAX) >= 5);
  Engine engine(store);
  auto expr = ParseExpr("sum(x)");
  REQUIRE(expr.ok());
  // Without a thread cache, as keel serve's request threads run.
  alloc::ThreadArena& requests = alloc::ThreadArena::Named(
      "engine_limits_requests", {.thread_cache = false});
  constexpr int kThreads = 16;
  std::promise<void> finish;
  std::shared_future<void> finished = finish.get_future().share();
  std::vector<std::thread> threads;
  std::vector<int> answered(kThreads, 0);
  for (int k = 0; k < kThreads; ++k) {
    std::promise<void> queried;
    std::future<void> done = queried.get_future();
    // One query a thread, one after another; each thread then stays alive
    // (its thread-locals too) until all have queried.
    threads.emplace_back([&, k, queried = std::move(queried)]() mutable {
      requests.Bind();
      core::QueryContext ctx(core::QueryLimits::Unbounded());
      auto v = engine.Range(**expr, 0, 6 * 3600000, 60000, ctx);
      answered[k] = v.ok() && std::get<Matrix>(*v).size() == 1;
      v = absl::InternalError("result freed");
      queried.set_value();
      finished.wait();
    });
    done.wait();
  }
  // About one cache's worth: each thread took the one the thread before it
  // gave back. (Under ASan, plain malloc is the sanitizer's: 0.)
  uint64_t held = ArenaAllocated("engine_limits_requests");
  finish.set_value();
  for (std::thread& t : threads) t.join();
  CHECK(std::count(answered.begin(), answered.end(), 1) == kThreads);
  CHECK(held < (2u << 20));
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
