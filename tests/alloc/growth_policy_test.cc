#include "alloc/growth_policy.h"

#include <catch2/catch.hpp>

#include "alloc/size_classes.h"

namespace keel::alloc {
namespace {

bool IsClass(size_t n) { return SizeClasses::Get().round_up(n) == n; }

TEST_CASE("every step lands exactly on a size class") {
  for (double growth : {0.0, 0.1, 0.25, 0.5, 1.0}) {
    for (size_t first : {1, 100, 128, 130, 4096}) {
      GrowthPolicy policy(first, growth);
      size_t cap = policy.first();
      REQUIRE(IsClass(cap));
      REQUIRE(cap >= first);
      for (int step = 0; step < 60 && cap < (1u << 30); ++step) {
        size_t next = policy.next(cap);
        REQUIRE(IsClass(next));
        REQUIRE(next > cap);
        REQUIRE(static_cast<double>(next) >= cap * (1.0 + growth) - 1);
        cap = next;
      }
    }
  }
}

TEST_CASE("with no minimum growth the steps take every class in turn") {
  GrowthPolicy policy(128);
  const auto& classes = SizeClasses::Get();
  size_t cap = policy.first();
  REQUIRE(cap == 128);
  for (int i = 0; i < 40; ++i) {
    REQUIRE(policy.next(cap) == classes.next(cap));
    cap = policy.next(cap);
  }
}

TEST_CASE("capacity_for is what ingestion reaches, never the size itself") {
  for (double growth : {0.0, 0.25, 1.0}) {
    GrowthPolicy policy(128, growth);
    for (size_t size = 1; size < 70000; size += 37) {
      size_t reached = policy.first();
      while (reached < size) reached = policy.next(reached);
      REQUIRE(policy.capacity_for(size) == reached);
    }
  }
  GrowthPolicy doubling(128, 1.0);
  REQUIRE(doubling.capacity_for(150) == 256);
  REQUIRE(GrowthPolicy(128).capacity_for(150) == 160);
  REQUIRE(GrowthPolicy(128).capacity_for(10) == 128);
  REQUIRE(GrowthPolicy(128).capacity_for(0) == 128);  // an empty buffer
  REQUIRE(GrowthPolicy(16, 0.5).capacity_for(0) == 16);
}

}  // namespace
}  // namespace keel::alloc
