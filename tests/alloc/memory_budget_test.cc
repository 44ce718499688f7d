#include "alloc/memory_budget.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "alloc/stats.h"

namespace keel::alloc {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kMiB = 1 << 20;

// A budget over a resident figure the test sets, with the hook's calls
// recorded.
struct Fixture {
  std::atomic<uint64_t> resident{0};
  std::vector<bool> calls;  // the hook's arguments, in order

  MemoryBudgetOptions Options(milliseconds max_staleness = milliseconds(0)) {
    MemoryBudgetOptions o;
    o.limit_bytes = 100 * kMiB;
    o.max_staleness = max_staleness;
    o.on_pressure = [this](bool high) { calls.push_back(high); };
    o.purge_above_soft_mark = false;
    o.read_resident = [this] { return resident.load(); };
    return o;
  }
};

TEST_CASE("CheckOptions names the option out of range") {
  MemoryBudgetOptions o;
  auto message = [&o] {
    return std::string(MemoryBudget::CheckOptions(o).message());
  };
  CHECK_THAT(message(), Catch::Contains("limit_bytes"));
  o.limit_bytes = 1;
  CHECK(MemoryBudget::CheckOptions(o).ok());
  for (double soft : {0.0, 1.5}) {
    o.soft_fraction = soft;
    CHECK_THAT(message(), Catch::Contains("soft_fraction"));
  }
  o.soft_fraction = 0.9;
  o.release_fraction = 0.95;
  CHECK_THAT(message(), Catch::Contains("release_fraction"));
  o.release_fraction = 0.85;
  o.tick = milliseconds(0);
  CHECK_THAT(message(), Catch::Contains("tick"));
}

TEST_CASE("marks, headroom and state follow resident") {
  Fixture f;
  MemoryBudget budget(f.Options());
  CHECK(budget.limit_bytes() == 100 * kMiB);
  CHECK(budget.soft_limit_bytes() == 90 * kMiB);
  f.resident = 50 * kMiB;
  CHECK(budget.Headroom() == 50 * kMiB);
  CHECK(budget.State() == MemoryPressure::kNone);
  CHECK(budget.resident() == 50 * kMiB);
  f.resident = 90 * kMiB;
  CHECK(budget.State() == MemoryPressure::kSoft);
  CHECK(budget.Headroom() == 10 * kMiB);
  f.resident = 100 * kMiB;
  CHECK(budget.State() == MemoryPressure::kHard);
  CHECK(budget.Headroom() == 0);
  f.resident = 150 * kMiB;
  CHECK(budget.Headroom() == 0);
  CHECK(f.calls.empty());  // only a tick acts
}

TEST_CASE("the hot path re-reads resident only when its reading is stale") {
  Fixture f;
  f.resident = 10 * kMiB;
  MemoryBudget budget(f.Options(milliseconds(3'600'000)));
  f.resident = 95 * kMiB;
  CHECK(budget.Headroom() == 90 * kMiB);  // the constructor's reading
  CHECK(budget.State() == MemoryPressure::kNone);
  CHECK(budget.Tick() == MemoryPressure::kSoft);  // a tick always reads
  CHECK(budget.Headroom() == 5 * kMiB);
}

TEST_CASE("the pressure hook starts at the soft mark, ends below release") {
  Fixture f;
  MemoryBudget budget(f.Options());
  f.resident = 89 * kMiB;
  CHECK(budget.Tick() == MemoryPressure::kNone);
  CHECK(f.calls.empty());
  f.resident = 90 * kMiB;
  CHECK(budget.Tick() == MemoryPressure::kSoft);
  REQUIRE(f.calls == std::vector<bool>{true});
  CHECK(budget.under_pressure());
  f.resident = 120 * kMiB;
  CHECK(budget.Tick() == MemoryPressure::kHard);
  f.resident = 86 * kMiB;  // below the soft mark, above release (85)
  CHECK(budget.Tick() == MemoryPressure::kNone);
  CHECK(f.calls.size() == 1);
  CHECK(budget.under_pressure());
  f.resident = 84 * kMiB;
  budget.Tick();
  REQUIRE(f.calls == std::vector<bool>{true, false});
  CHECK_FALSE(budget.under_pressure());
  f.resident = 95 * kMiB;
  budget.Tick();
  CHECK(f.calls == std::vector<bool>{true, false, true});
}

TEST_CASE("ticks purge only at or above the soft mark, when asked") {
  Fixture f;
  MemoryBudgetOptions options = f.Options();
  options.purge_above_soft_mark = GENERATE(false, true);
  INFO("purge_above_soft_mark " << options.purge_above_soft_mark);
  MemoryBudget budget(options);
  f.resident = 80 * kMiB;
  budget.Tick();
  CHECK(budget.purges() == 0);
  f.resident = 91 * kMiB;
  budget.Tick();
  budget.Tick();
  CHECK(budget.purges() == (options.purge_above_soft_mark ? 2u : 0u));
}

TEST_CASE("Start ticks in the background until the budget goes") {
  Fixture f;
  MemoryBudgetOptions options = f.Options(milliseconds(3'600'000));
  options.tick = milliseconds(1);
  std::atomic<int> highs{0};
  options.on_pressure = [&](bool high) { highs += high; };
  auto budget = std::make_unique<MemoryBudget>(options);
  budget->Start();
  f.resident = 99 * kMiB;
  for (int i = 0; i < 5000 && highs.load() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  REQUIRE(highs.load() == 1);
  CHECK(budget->Headroom() == 1 * kMiB);  // the tick refreshed the reading
  budget.reset();                         // joins the tick thread
}

TEST_CASE("by default the budget reads the process's resident set") {
  const uint64_t before = ProcessRssBytes();
  REQUIRE(before > 0);
  MemoryBudgetOptions options;
  options.limit_bytes = before + 32 * kMiB;
  MemoryBudget budget(options);
  CHECK(budget.State() != MemoryPressure::kHard);
  // 64 MiB touched page by page: resident passes the limit.
  std::vector<char> block(64 * kMiB);
  std::memset(block.data(), 1, block.size());
  CHECK(budget.Tick() == MemoryPressure::kHard);
  CHECK(budget.Headroom() == 0);
  CHECK(budget.resident() >= before + 60 * kMiB);
}

}  // namespace
}  // namespace keel::alloc
