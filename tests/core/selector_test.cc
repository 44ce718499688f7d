#include "keel/core/selector.h"

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

}  // namespace
}  // namespace keel::core
