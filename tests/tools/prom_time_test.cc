#include "tools/server/prom_time.h"

#include <catch2/catch.hpp>

namespace keel::tools {
namespace {

// Found by tests/fuzz/prom_time_fuzzer.cc: 1700005011700.0005 s is taken as
// 1700005011700001 ms, and 2221222222222250s as 2221222222222250000 ms, both
// of which the units form refused in ms as "number too large" (a 15-digit
// bound on each number, below the bound on the total).
TEST_CASE("A duration accepted in one form reads the same in milliseconds") {
  auto seconds = ParsePromDuration("1700005011700.00050");
  REQUIRE(seconds.ok());
  CHECK(*seconds == 1700005011700001);
  auto millis = ParsePromDuration("1700005011700001ms");
  REQUIRE(millis.ok());
  CHECK(*millis == *seconds);
  CHECK(ParseDurationWithUnits("1700005011700001ms").value() == *seconds);
  auto long_seconds = ParseDurationWithUnits("2221222222222250s");
  REQUIRE(long_seconds.ok());
  auto long_millis = ParseDurationWithUnits("2221222222222250000ms");
  REQUIRE(long_millis.ok());
  CHECK(*long_millis == *long_seconds);
}

// Found by tests/fuzz/prom_time_fuzzer.cc: absl::ParseTime's own words for
// the infinite times were taken as INT64_MIN / INT64_MAX milliseconds.
TEST_CASE("Times are bounded in every form") {
  CHECK(!ParsePromTime("infinite-past").ok());
  CHECK(!ParsePromTime("infinite-future").ok());
  CHECK(!ParsePromTime("\ninfinite-future\n").ok());
  CHECK(!ParsePromTime("9999999999999").ok());  // past 9e15 ms
  CHECK(ParsePromTime("2023-11-14T22:13:20.5Z").value() == 1700000000500);
}

TEST_CASE("Durations with units bound their numbers and total") {
  CHECK(!ParseDurationWithUnits("9999999999999999999ms").ok());  // 19 digits
  CHECK(!ParseDurationWithUnits("999999999999999999y").ok());    // too long
  CHECK(ParseDurationWithUnits("1h30m").value() == 5400000);
}

}  // namespace
}  // namespace keel::tools
