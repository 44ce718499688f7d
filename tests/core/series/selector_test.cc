#include "core/series/selector.h"

#include <catch2/catch.hpp>

namespace keel::core {
namespace {

std::vector<std::string> Strings(const char* text) {
  auto m = ParseSelector(text);
  INFO(text);
  REQUIRE(m.ok());
  std::vector<std::string> out;
  for (const Matcher& x : *m) out.push_back(x.ToString());
  return out;
}

std::string Error(const char* text) {
  auto m = ParseSelector(text);
  REQUIRE_FALSE(m.ok());
  return std::string(m.status().message());
}

using V = std::vector<std::string>;

TEST_CASE("selectors parse into matchers") {
  REQUIRE(Strings("up") == V{"__name__=\"up\""});
  REQUIRE(Strings("node:cpu:rate{}") == V{"__name__=\"node:cpu:rate\""});
  REQUIRE(
      Strings(R"(http_requests{job="api",code=~"5..", path!~'/a.*' ,x!=""})") ==
      V{"__name__=\"http_requests\"", "job=\"api\"", "code=~\"5..\"",
        "path!~\"/a.*\"", "x!=\"\""});
  REQUIRE(Strings(R"( {job="a\"b\\c\n",} )") == V{"job=\"a\\\"b\\\\c\\n\""});
}

TEST_CASE("bad selectors say where and what") {
  CHECK(Error("").find("at byte 0") != std::string::npos);
  CHECK(Error("{}").find("at least one matcher") != std::string::npos);
  CHECK(Error(R"(up{job})").find("expected =, !=, =~ or !~") !=
        std::string::npos);
  CHECK(Error(R"(up{job="x")").find("expected ',' or '}'") !=
        std::string::npos);
  CHECK(Error(R"(up{job="x)").find("unterminated") != std::string::npos);
  CHECK(Error(R"(up{job=x})").find("quoted") != std::string::npos);
  CHECK(Error(R"(up{job=~"("})").find("bad regex") != std::string::npos);
  CHECK(Error(R"(up{9x="1"})").find("at byte 3") != std::string::npos);
  CHECK(Error(R"(up{} extra)").find("unexpected text") != std::string::npos);
  CHECK(Error(R"(up{a="\q"})").find("unknown escape") != std::string::npos);
}

TEST_CASE("selector length and matcher count are bounded, naming the limit") {
  SelectorLimits limits;
  std::string many = "up{";
  for (std::size_t i = 1; i < limits.max_matchers; ++i) {
    many += 'l';
    many += std::to_string(i);
    many += "=~\"v.*\",";
  }
  many += "}";
  auto at_limit = ParseSelector(many);
  REQUIRE(at_limit.ok());
  CHECK(at_limit->size() == limits.max_matchers);
  std::string over = many.substr(0, many.size() - 1);
  over += "z=\"1\"}";
  auto refused = ParseSelector(over);
  REQUIRE(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(refused.status().message()).find("more than 64 matchers") !=
        std::string::npos);

  std::string longest = "up{a=\"";
  longest.append(limits.max_bytes - 8, 'x');
  longest += "\"}";
  REQUIRE(longest.size() == limits.max_bytes);
  CHECK(ParseSelector(longest).ok());
  auto too_long = ParseSelector(longest + " ");
  REQUIRE(!too_long.ok());
  CHECK(std::string(too_long.status().message()).find("limit of 65536 bytes") !=
        std::string::npos);
  CHECK(ParseSelector("up{}", {.max_bytes = 3}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ParseSelector("up{a=\"1\"}", {.max_matchers = 1}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace keel::core
