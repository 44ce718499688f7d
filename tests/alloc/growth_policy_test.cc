#include "alloc/growth_policy.h"

#include <catch2/catch.hpp>

#include "alloc/size_classes.h"

namespace keel::alloc {
namespace {

bool IsClass(size_t n) { return SizeClasses::Get().RoundUp(n) == n; }

TEST_CASE("every step lands exactly on a size class") {
  for (double growth : {0.0, 0.1, 0.25, 0.5, 1.0}) {
    for (size_t first : {1, 100, 128, 130, 4096}) {
      GrowthPolicy policy(first, growth);
      size_t cap = policy.first();
      REQUIRE(IsClass(cap));
      REQUIRE(cap >= first);
      for (int step = 0; step < 60 && cap < (1u << 30); ++step) {
        size_t next = policy.Next(cap);
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
    REQUIRE(policy.Next(cap) == classes.Next(cap));
    cap = policy.Next(cap);
  }
}

TEST_CASE("CapacityFor is what ingestion reaches, never the size itself") {
  for (double growth : {0.0, 0.25, 1.0}) {
    GrowthPolicy policy(128, growth);
    for (size_t size = 1; size < 70000; size += 37) {
      size_t reached = policy.first();
      while (reached < size) reached = policy.Next(reached);
      REQUIRE(policy.CapacityFor(size) == reached);
    }
  }
  GrowthPolicy doubling(128, 1.0);
  REQUIRE(doubling.CapacityFor(150) == 256);
  REQUIRE(GrowthPolicy(128).CapacityFor(150) == 160);
  REQUIRE(GrowthPolicy(128).CapacityFor(10) == 128);
  REQUIRE(GrowthPolicy(128).CapacityFor(0) == 128);  // an empty buffer
  REQUIRE(GrowthPolicy(16, 0.5).CapacityFor(0) == 16);
}

}  // namespace
}  // namespace keel::alloc
