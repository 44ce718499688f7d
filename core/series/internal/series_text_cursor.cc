#include "core/series/internal/series_text_cursor.h"

#include "absl/strings/str_cat.h"

namespace keel::core::core_internal {

void TextCursor::SkipSpace() {
  while (!AtEnd() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
}

bool TextCursor::Consume(char c) {
  if (Peek() != c) return false;
  ++pos_;
  return true;
}

bool TextCursor::Consume(std::string_view s) {
  if (text_.substr(pos_, s.size()) != s) return false;
  pos_ += s.size();
  return true;
}

std::string_view TextCursor::ReadName(bool metric) {
  std::size_t start = pos_;
  while (!AtEnd()) {
    char c = text_[pos_];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (metric && c == ':') || (pos_ > start && c >= '0' && c <= '9');
    if (!ok) break;
    ++pos_;
  }
  return text_.substr(start, pos_ - start);
}

std::string_view TextCursor::ReadToken() {
  std::size_t start = pos_;
  while (!AtEnd() && text_[pos_] != ' ' && text_[pos_] != '\t') ++pos_;
  return text_.substr(start, pos_ - start);
}

absl::Status TextCursor::ReadQuoted(std::string& out) {
  char quote = Peek();
  if (quote != '"' && quote != '\'') return Error("expected a quoted string");
  ++pos_;
  out.clear();
  while (true) {
    if (AtEnd()) return Error("unterminated string");
    char c = text_[pos_++];
    if (c == quote) return absl::OkStatus();
    if (c == '\n') return Error("newline inside a string");
    if (c != '\\') {
      out += c;
      continue;
    }
    if (AtEnd()) return Error("unterminated string");
    char e = text_[pos_++];
    switch (e) {
      case '\\':
      case '"':
      case '\'':
        out += e;
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      default:
        --pos_;
        return Error(absl::StrCat("unknown escape \\", std::string(1, e)));
    }
  }
}

absl::Status TextCursor::Error(std::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(
      "at byte ", pos_, ": ", absl::string_view(what.data(), what.size())));
}

}  // namespace keel::core::core_internal
