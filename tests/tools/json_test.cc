#include "tools/json.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

namespace keel::tools {
namespace {

TEST_CASE("JsonQuote escapes quotes, backslashes and control characters") {
  CHECK(JsonQuote("a\"b\\c") == R"("a\"b\\c")");
  CHECK(JsonQuote("\n\r\t") == R"("\n\r\t")");
  CHECK(JsonQuote(std::string("\x01\x1f", 2)) == R"("\u0001\u001f")");
  CHECK(JsonQuote(std::string("a\0b", 3)) == R"("a\u0000b")");
  CHECK(JsonQuote("\x7f") == "\"\x7f\"");
}

TEST_CASE("JsonQuote keeps well-formed UTF-8") {
  for (const char* text : {"Köln", "日本", "\xf0\x9f\x98\x80",  // U+1F600
                           "\xed\x9f\xbf",                      // U+D7FF
                           "\xf4\x8f\xbf\xbf"}) {               // U+10FFFF
    CHECK(JsonQuote(text) == std::string("\"") + text + "\"");
  }
}

TEST_CASE("JsonQuote replaces bytes that are not UTF-8 with U+FFFD") {
  const std::string kReplacement = "\xef\xbf\xbd";
  auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
  CHECK(JsonQuote("K\xf6ln") == quoted("K" + kReplacement + "ln"));  // Latin-1
  CHECK(JsonQuote("\xc0\xaf") ==
        quoted(kReplacement + kReplacement));  // overlong
  CHECK(JsonQuote("\xed\xa0\x80") ==
        quoted(kReplacement + kReplacement + kReplacement));  // surrogate
  CHECK(JsonQuote("\xf4\x90\x80\x80") ==
        quoted(kReplacement + kReplacement + kReplacement +
               kReplacement));  // past U+10FFFF
  CHECK(JsonQuote("ab\xe6\x97") == quoted("ab" + kReplacement + kReplacement));
  CHECK(JsonQuote("\x80z") ==
        quoted(kReplacement + "z"));  // stray continuation
}

TEST_CASE("JsonNumber prints doubles that parse back exactly") {
  CHECK(JsonNumber(0.1) == "0.1");
  CHECK(JsonNumber(1e300) == "1e+300");
  CHECK(JsonNumber(std::nan("")) == "null");
}

}  // namespace
}  // namespace keel::tools
