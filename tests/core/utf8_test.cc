#include "core/utf8.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

namespace keel::core {
namespace {

// RFC 3629 by decoding: the code point must need exactly the bytes used and
// be a scalar value. Written apart from utf8.cc's table of lead and second
// bytes, so that the two are checked against each other.
bool ReferenceValid(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      extra = 0, cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

TEST_CASE("UTF-8 validation rejects malformed sequences", "[utf8]") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain"));
  CHECK(IsValidUtf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(IsValidUtf8("\x80"));              // lone continuation
  CHECK_FALSE(IsValidUtf8("\xc3"));              // truncated
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(IsValidUtf8("\xff"));
}

TEST_CASE("Utf8SequenceLength measures the first sequence only", "[utf8]") {
  CHECK(Utf8SequenceLength("") == 0);
  CHECK(Utf8SequenceLength("ab") == 1);
  CHECK(Utf8SequenceLength("\xc3\xa9x") == 2);
  CHECK(Utf8SequenceLength("\xe2\x82\xac\xff") == 3);
  CHECK(Utf8SequenceLength("\xf0\x9f\x98\x80") == 4);
  CHECK(Utf8SequenceLength("\xf0\x9f\x98") == 0);  // truncated
  CHECK(Utf8SequenceLength("\xbf") == 0);
}

TEST_CASE("UTF-8 checks agree with decoding on every short sequence",
          "[utf8]") {
  auto hex = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      out += "0123456789abcdef"[(c >> 4) & 15];
      out += "0123456789abcdef"[c & 15];
    }
    return out;
  };
  auto check = [&](const std::string& s) {
    bool valid = ReferenceValid(s);
    if (IsValidUtf8(s) != valid) FAIL_CHECK("IsValidUtf8 " << hex(s));
    bool one = Utf8SequenceLength(s) == s.size();
    if (one != valid) FAIL_CHECK("Utf8SequenceLength " << hex(s));
  };
  std::string s;
  for (int a = 0; a < 256; ++a) {
    s.assign(1, static_cast<char>(a));
    check(s);
    for (int b = 0; b < 256; ++b) {
      s.assign({static_cast<char>(a), static_cast<char>(b)});
      if (a >= 0x80) check(s);
      if (a < 0xe0) continue;
      for (int c = 0; c < 256; ++c) {
        s.assign(
            {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        if (a < 0xf0) {
          check(s);
          continue;
        }
        for (int d : {0x00, 0x41, 0x80, 0xbf, 0xc0}) {
          s.push_back(static_cast<char>(d));
          check(s);
          s.pop_back();
        }
      }
    }
  }
}

}  // namespace
}  // namespace keel::core
