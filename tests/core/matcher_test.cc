#include "keel/core/matcher.h"

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

TEST_CASE("matches_empty tells which matchers select absent labels") {
  CHECK(Make(MatchType::kEqual, "").matches_empty());
  CHECK_FALSE(Make(MatchType::kEqual, "x").matches_empty());
  CHECK(Make(MatchType::kNotEqual, "x").matches_empty());
  CHECK_FALSE(Make(MatchType::kNotEqual, "").matches_empty());
  CHECK(Make(MatchType::kRegexMatch, ".*").matches_empty());
  CHECK_FALSE(Make(MatchType::kRegexMatch, ".+").matches_empty());
  CHECK(Make(MatchType::kRegexNoMatch, ".+").matches_empty());
  CHECK_FALSE(Make(MatchType::kRegexNoMatch, ".*").matches_empty());
}

TEST_CASE("a bad regex is an error naming the label") {
  auto m = Matcher::Create(MatchType::kRegexMatch, "job", "a(b");
  REQUIRE(m.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(std::string(m.status().message()).find("job") != std::string::npos);
}

TEST_CASE("ToString prints the matcher in selector syntax") {
  auto m = Matcher::Create(MatchType::kRegexNoMatch, "job", "a\"b");
  REQUIRE(m.ok());
  REQUIRE(m->ToString() == "job!~\"a\\\"b\"");
}

}  // namespace
}  // namespace keel::core
