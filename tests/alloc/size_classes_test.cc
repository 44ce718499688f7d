#include "alloc/size_classes.h"

#include <jemalloc/jemalloc.h>

#include <catch2/catch.hpp>

namespace keel::alloc {
namespace {

TEST_CASE("RoundUp agrees with nallocx for every size up to 64 KiB") {
  const auto& classes = SizeClasses::Get();
  for (size_t n = 1; n <= (64u << 10); ++n) {
    REQUIRE(classes.RoundUp(n) == nallocx(n, 0));
  }
}

TEST_CASE("RoundUp agrees with nallocx on large classes and their edges") {
  const auto& classes = SizeClasses::Get();
  auto sizes = classes.sizes();
  for (size_t j = 0; j + 1 < sizes.size() && sizes[j] < (1ull << 40); ++j) {
    for (size_t n : {sizes[j] - 1, sizes[j], sizes[j] + 1}) {
      REQUIRE(classes.RoundUp(n) == nallocx(n, 0));
    }
  }
}

TEST_CASE("IndexOf and Next walk the table") {
  const auto& classes = SizeClasses::Get();
  auto sizes = classes.sizes();
  REQUIRE(sizes.size() > classes.small().size());
  for (size_t j = 0; j + 1 < sizes.size(); ++j) {
    REQUIRE(sizes[j] < sizes[j + 1]);
    REQUIRE(classes.IndexOf(sizes[j]) == j);
    REQUIRE(classes.Next(sizes[j]) == sizes[j + 1]);
    REQUIRE(classes.Next(sizes[j] - (j == 0 ? 0 : 1)) ==
            (j == 0 ? sizes[1] : sizes[j + 1]));
  }
}

TEST_CASE("small classes carry their slab geometry") {
  for (const SmallClass& c : SizeClasses::Get().small()) {
    REQUIRE(c.nregs > 0);
    REQUIRE(c.nregs * c.size <= c.slab_size);
    REQUIRE(SizeClasses::Get().IsSmall(c.size));
  }
  REQUIRE(SizeClasses::Get().small().front().size == 8);
  REQUIRE(SizeClasses::Get().RoundUp(100) == 112);
}

}  // namespace
}  // namespace keel::alloc
