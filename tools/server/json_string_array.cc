#include "tools/server/json_string_array.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace keel::tools {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<std::string>> Array(size_t max_items) {
    std::vector<std::string> items;
    SkipSpace();
    if (!Consume('[')) return Expected("'['");
    SkipSpace();
    if (!Consume(']')) {
      while (true) {
        if (items.size() == max_items) {
          return absl::InvalidArgumentError(absl::StrCat(
              "more than ", max_items, " elements at offset ", pos_));
        }
        SkipSpace();
        std::string item;
        if (absl::Status s = String(&item); !s.ok()) return s;
        items.push_back(std::move(item));
        SkipSpace();
        if (Consume(']')) break;
        if (!Consume(',')) return Expected("',' or ']'");
      }
    }
    SkipSpace();
    if (pos_ != text_.size()) return Expected("the end of the body");
    return items;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  [[gnu::cold]] absl::Status Expected(std::string_view what) const {
    if (pos_ >= text_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed JSON: expected ", std::string(what),
                       " at offset ", pos_, ", found the end of the body"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed JSON: expected ", std::string(what), " at offset ", pos_));
  }

  bool Hex4(uint32_t* value) {
    if (text_.size() - pos_ < 4) return false;
    *value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_ + i];
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0) return false;
      *value = *value * 16 + digit;
    }
    pos_ += 4;
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::Status String(std::string* out) {
    if (!Consume('"')) return Expected("a string");
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Expected("no control character inside a string");
      }
      ++pos_;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return Expected("four hex digits after \\u");
          if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t low;
            if (!Consume('\\') || !Consume('u') || !Hex4(&low) ||
                low < 0xDC00 || low >= 0xE000) {
              return Expected("a low surrogate escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return Expected("a high surrogate before a low one");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Expected("a valid escape");
      }
    }
    return Expected("'\"' closing the string");
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseJsonStringArray(
    std::string_view text, size_t max_items) {
  return Parser(text).Array(max_items);
}

}  // namespace keel::tools
