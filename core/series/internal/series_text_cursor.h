// TextCursor: the shared lexer of the series text format and selectors:
// names, quoted strings with Go escapes, and error messages that carry the
// byte offset.
//
// Thread safety: none; one per line.
#ifndef KEEL_CORE_SERIES_INTERNAL_SERIES_TEXT_CURSOR_H_
#define KEEL_CORE_SERIES_INTERNAL_SERIES_TEXT_CURSOR_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace keel::core::core_internal {

class TextCursor {
 public:
  explicit TextCursor(std::string_view text) : text_(text) {}

  void SkipSpace();
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  bool Consume(char c);
  bool Consume(std::string_view s);
  std::size_t pos() const { return pos_; }

  // [a-zA-Z_:][a-zA-Z0-9_:]* (colons only when `metric`); empty if none.
  std::string_view ReadName(bool metric);
  // A run of characters up to whitespace.
  std::string_view ReadToken();
  // A string in `quote` quotes with \\ \" \' \n \t escapes; the cursor sits
  // on the opening quote.
  absl::Status ReadQuoted(std::string& out);

  // InvalidArgument "at byte <pos>: <what>".
  absl::Status Error(std::string_view what) const;

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SERIES_TEXT_CURSOR_H_
