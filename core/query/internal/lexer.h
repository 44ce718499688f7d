// The PromQL lexer: Prometheus 2.42's promql/parser/lex.go state machine,
// token for token, since the parser's error messages name tokens the way it
// does ("unexpected <op:*>", `unexpected identifier "foo"`) and at the
// offsets it does.
//
//   Lexer lex("rate(x[5m])");
//   for (Token t = lex.Next(); t.type != TokenType::kEof; t = lex.Next()) ...
//
// After an error token it returns kEof. The input's size is bounded by the
// caller (ParseLimits), so offsets fit in 32 bits.
//
// Thread safety: one Lexer per thread.
#ifndef KEEL_CORE_QUERY_INTERNAL_LEXER_H_
#define KEEL_CORE_QUERY_INTERNAL_LEXER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/query/internal/token.h"

namespace keel::query_internal {

class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}

  Token Next();

 private:
  int32_t NextRune();  // -1 at the end
  int32_t PeekRune();
  void Backup() { pos_ -= width_; }
  bool Accept(std::string_view valid);
  void AcceptRun(std::string_view valid);
  Token Emit(TokenType type);
  Token Error(std::string message);

  Token LexStatement();
  Token LexInsideBraces();
  Token LexString(char quote);
  Token LexRawString();
  // An escape's error message, or empty when it is well-formed.
  std::string LexEscape(char quote);
  Token LexComment();
  Token LexDuration();
  Token LexNumberOrDuration();
  Token LexKeywordOrIdentifier();
  bool ScanNumber();
  bool AcceptRemainingDuration();
  void SkipSpaces();

  std::string_view input_;
  uint32_t pos_ = 0;
  uint32_t start_ = 0;
  uint32_t width_ = 0;
  bool done_ = false;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  bool pending_duration_ = false;  // a `[` was just emitted
};

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_LEXER_H_
