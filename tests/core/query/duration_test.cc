// PromQL durations as Prometheus 2.42's model.ParseDuration reads them and
// its String() writes them.
#include "core/query/duration.h"

#include <catch2/catch.hpp>
#include <string>

namespace keel::query {
namespace {

TEST_CASE("durations read and print as Prometheus'") {
  CHECK(*ParseDuration("1h30m") == 5400000);
  CHECK(*ParseDuration("0") == 0);
  CHECK(*ParseDuration("1y") == 365LL * 86400000);
  CHECK(*ParseDuration("2w3d4h5m6s7ms") ==
        ((((14LL + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1000 + 7);
  CHECK_FALSE(ParseDuration("").ok());
  CHECK_FALSE(ParseDuration("1.5h").ok());
  CHECK_FALSE(ParseDuration("5m1h").ok());
  CHECK_FALSE(ParseDuration("1d1d").ok());
  CHECK_FALSE(ParseDuration("-5m").ok());
  CHECK(ParseDuration("292y").ok());
  CHECK(std::string(ParseDuration("293y").status().message()) ==
        "duration out of range");
  CHECK(std::string(
            ParseDuration("99999999999999999999999s").status().message()) ==
        "duration out of range");
  CHECK(FormatDuration(0) == "0s");
  CHECK(FormatDuration(90 * 86400000LL) == "90d");
  CHECK(FormatDuration(14 * 86400000LL) == "2w");
  CHECK(FormatDuration(5400000) == "1h30m");
  CHECK(FormatDuration(1) == "1ms");
}

}  // namespace
}  // namespace keel::query
