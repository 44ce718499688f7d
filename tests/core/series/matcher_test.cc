#include "core/series/matcher.h"

#include <catch2/catch.hpp>

namespace keel::core {
namespace {

Matcher Make(MatchType type, const char* value) {
  auto m = Matcher::Create(type, "l", value);
  REQUIRE(m.ok());
  return *m;
}

TEST_CASE("matchers compare and match as Prometheus does") {
  CHECK(Make(MatchType::kEqual, "a").Matches("a"));
  CHECK_FALSE(Make(MatchType::kEqual, "a").Matches("ab"));
  CHECK(Make(MatchType::kNotEqual, "a").Matches("b"));
  CHECK(Make(MatchType::kRegexMatch, "a|b").Matches("b"));
  // Fully anchored.
  CHECK_FALSE(Make(MatchType::kRegexMatch, "a").Matches("ba"));
  CHECK_FALSE(Make(MatchType::kRegexMatch, "a").Matches("ab"));
  CHECK(Make(MatchType::kRegexMatch, "a.*").Matches("ab"));
  // Dot matches a newline, as with Prometheus' (?s).
  CHECK(Make(MatchType::kRegexMatch, "a.b").Matches("a\nb"));
  CHECK(Make(MatchType::kRegexNoMatch, "a.*").Matches("ba"));
  CHECK_FALSE(Make(MatchType::kRegexNoMatch, "a.*").Matches("ab"));
}

TEST_CASE("MatchesEmpty tells which matchers select absent labels") {
  CHECK(Make(MatchType::kEqual, "").MatchesEmpty());
  CHECK_FALSE(Make(MatchType::kEqual, "x").MatchesEmpty());
  CHECK(Make(MatchType::kNotEqual, "x").MatchesEmpty());
  CHECK_FALSE(Make(MatchType::kNotEqual, "").MatchesEmpty());
  CHECK(Make(MatchType::kRegexMatch, ".*").MatchesEmpty());
  CHECK_FALSE(Make(MatchType::kRegexMatch, ".+").MatchesEmpty());
  CHECK(Make(MatchType::kRegexNoMatch, ".+").MatchesEmpty());
  CHECK_FALSE(Make(MatchType::kRegexNoMatch, ".*").MatchesEmpty());
}

TEST_CASE("a bad regex is an error naming the label") {
  auto m = Matcher::Create(MatchType::kRegexMatch, "job", "a(b");
  REQUIRE(m.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(std::string(m.status().message()).find("job") != std::string::npos);
}

TEST_CASE("a regex too large for its memory bound is refused, naming it") {
  // A long alternation of host names compiles to a program past the bound.
  std::string hosts;
  for (int i = 0; i < 5000; ++i) {
    if (i > 0) hosts += '|';
    hosts += "host-" + std::to_string(i * 7919) + ".example.com:9100";
  }
  auto m = Matcher::Create(MatchType::kRegexMatch, "instance", hosts);
  REQUIRE(m.status().code() == absl::StatusCode::kInvalidArgument);
  std::string message(m.status().message());
  CHECK(message.find("instance") != std::string::npos);
  CHECK(message.find("too large") != std::string::npos);
  CHECK(message.find(std::to_string(Matcher::kRegexMaxMem)) !=
        std::string::npos);
  CHECK(message.size() < 400);  // the pattern is not echoed whole
  // A few hundred alternatives, as a dashboard variable makes, still work.
  std::string some =
      hosts.substr(0, hosts.find("|host-" + std::to_string(300 * 7919)));
  auto ok = Matcher::Create(MatchType::kRegexMatch, "instance", some);
  REQUIRE(ok.ok());
  CHECK(ok->Matches("host-7919.example.com:9100"));
}

TEST_CASE("MatchCost grows with the regex and the value") {
  auto eq = Make(MatchType::kEqual, "x");
  CHECK(eq.MatchCost(4000) == 1);
  auto small = Make(MatchType::kRegexMatch, "a.*b");
  auto big = Make(MatchType::kRegexMatch, "(.*a.{20}){40}b");
  CHECK(small.MatchCost(10) >= 1);
  CHECK(big.MatchCost(4096) > big.MatchCost(16));
  CHECK(big.MatchCost(4096) > small.MatchCost(4096));
}

TEST_CASE("ToString prints the matcher in selector syntax") {
  auto m = Matcher::Create(MatchType::kRegexNoMatch, "job", "a\"b");
  REQUIRE(m.ok());
  REQUIRE(m->ToString() == "job!~\"a\\\"b\"");
}

}  // namespace
}  // namespace keel::core
