#include "core/series/query_context.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <thread>

#include "core/series/selector.h"
#include "core/series/series_store.h"

namespace keel::core {
namespace {

// A store whose `id` values make a regex slow: RE2 falls back from its DFA
// to an NFA on (.*a.{20}){40}b over long random a/b strings, costing
// milliseconds a value, so selecting over them takes minutes unbounded.
SeriesStore& SlowStore() {
  static SeriesStore* store = [] {
    auto* s = new SeriesStore();
    std::mt19937 rng(3);
    for (int i = 0; i < 2000; ++i) {
      std::string id(4000, 'a');
      for (char& c : id) c = "ab"[rng() % 2];
      auto ref = s->GetOrCreate({{"__name__", "m"}, {"id", id}});
      REQUIRE(ref.ok());
      s->Append(*ref, 1000, i);
    }
    return s;
  }();
  return *store;
}

constexpr const char* kSlowSelector = R"(m{id=~"(.*a.{20}){40}b"})";

TEST_CASE("work within the limits passes; the first failure sticks") {
  QueryContext ctx(
      {.timeout_ms = 60'000, .max_samples = 10, .max_result_bytes = 100});
  for (int i = 0; i < 10'000; ++i) REQUIRE(ctx.Work());
  REQUIRE(ctx.AddSamples(10));
  REQUIRE(ctx.AddResultBytes(100));
  REQUIRE(ctx.AddSelectedBytes(100));
  CHECK_FALSE(ctx.AddSamples(1));
  CHECK(ctx.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(ctx.status().message() ==
        "query processing would load too many samples into memory in query "
        "execution");
  CHECK_FALSE(ctx.Work());
  CHECK_FALSE(ctx.CheckNow());
  ctx.Cancel();
  CHECK_FALSE(ctx.AddResultBytes(1000));
  CHECK(ctx.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(ctx.status().message()).find("samples") !=
        std::string::npos);
}

TEST_CASE("the byte budgets name the limit") {
  QueryContext result({.max_result_bytes = 100});
  CHECK_FALSE(result.AddResultBytes(101));
  CHECK(std::string(result.status().message()).find("100 bytes") !=
        std::string::npos);
  QueryContext selected({.max_result_bytes = 100});
  CHECK(selected.AddResultBytes(60));
  CHECK(selected.AddSelectedBytes(60));  // counted apart from the result
  CHECK_FALSE(selected.AddSelectedBytes(41));
  CHECK(selected.status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("an expired deadline fails the next check") {
  QueryContext ctx({.timeout_ms = 1});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK_FALSE(ctx.CheckNow());
  CHECK(ctx.status().code() == absl::StatusCode::kDeadlineExceeded);
  // Work notices it within kUnitsPerCheck units too.
  QueryContext later({.timeout_ms = 1});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  bool ok = true;
  for (uint64_t i = 0; ok && i <= QueryContext::kUnitsPerCheck; ++i) {
    ok = later.Work();
  }
  CHECK_FALSE(ok);
  CHECK(later.status().code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("the cancellation predicate is polled rarely") {
  int polls = 0;
  QueryContext ctx(QueryLimits::Unbounded(), [&] {
    ++polls;
    return false;
  });
  // Checks in quick succession poll it at most once per interval.
  for (int i = 0; i < 1000; ++i) REQUIRE(ctx.CheckNow());
  CHECK(polls <= 1);
  std::this_thread::sleep_for(QueryContext::kCancelPollInterval);
  REQUIRE(ctx.CheckNow());
  CHECK(polls >= 1);
}

TEST_CASE("a slow regex selection stops at the deadline") {
  SeriesStore& store = SlowStore();
  auto matchers = ParseSelector(kSlowSelector);
  REQUIRE(matchers.ok());
  QueryContext ctx({.timeout_ms = 50});
  auto set = store.Select(*matchers, 0, 2000, ctx);
  REQUIRE(set.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(std::string(set.status().message()).find("timed out") !=
        std::string::npos);
}

TEST_CASE("a selection stops when the client goes away") {
  SeriesStore& store = SlowStore();
  auto matchers = ParseSelector(kSlowSelector);
  REQUIRE(matchers.ok());
  std::atomic<bool> gone{false};
  QueryContext ctx(QueryLimits{}, [&] { return gone.load(); });
  std::thread hang_up([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    gone = true;
  });
  auto set = store.Select(*matchers, 0, 2000, ctx);
  hang_up.join();
  REQUIRE(set.status().code() == absl::StatusCode::kCancelled);
}

TEST_CASE("Cancel from another thread stops a selection") {
  SeriesStore& store = SlowStore();
  auto matchers = ParseSelector(kSlowSelector);
  REQUIRE(matchers.ok());
  QueryContext ctx(QueryLimits{});
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ctx.Cancel();
  });
  auto set = store.Select(*matchers, 0, 2000, ctx);
  canceller.join();
  REQUIRE(set.status().code() == absl::StatusCode::kCancelled);
}

TEST_CASE("selected labels count against the byte budget") {
  SeriesStore& store = SlowStore();
  auto matchers = ParseSelector(R"(m{id=~".+"})");
  REQUIRE(matchers.ok());
  QueryContext small({.max_result_bytes = 100'000});
  auto refused = store.Select(*matchers, 0, 2000, small);
  REQUIRE(refused.status().code() == absl::StatusCode::kResourceExhausted);
  // Within budget, the bounded Select finds what the plain one does.
  QueryContext ample(QueryLimits{});
  auto bounded = store.Select(*matchers, 0, 2000, ample);
  REQUIRE(bounded.ok());
  CHECK(bounded->series().size() == 2000);
  CHECK(store.Select(*matchers, 0, 2000).series().size() == 2000);
  CHECK(ample.selected_bytes() > 2000 * 4000);
}

TEST_CASE("peak_samples is the most samples held at once") {
  QueryContext ctx(QueryLimits::Unbounded());
  CHECK(ctx.peak_samples() == 0);
  REQUIRE(ctx.AddSamples(10));
  ctx.ReleaseSamples(8);
  REQUIRE(ctx.AddSamples(5));
  CHECK(ctx.samples() == 7);
  CHECK(ctx.peak_samples() == 10);
  REQUIRE(ctx.AddSamples(4));
  CHECK(ctx.peak_samples() == 11);
}

}  // namespace
}  // namespace keel::core
