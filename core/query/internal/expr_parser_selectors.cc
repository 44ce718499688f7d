#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/internal/expr_parser.h"
#include "core/query/internal/grammar.h"
#include "core/series/labels.h"

namespace keel::query_internal {

using query::ExprPtr;
using query::VectorSelector;

ExprPtr Parser::ParseSelector() {
  auto vs = std::make_unique<VectorSelector>();
  vs->pos = {cur_.pos, cur_.end()};
  if (cur_.type != TokenType::kLeftBrace) {
    vs->name = std::string(cur_.text);
    Advance();
  }
  if (cur_.type == TokenType::kLeftBrace && !error_) {
    if (!ParseLabelMatchers(*vs)) return nullptr;
    vs->pos.end = last_end_;
  }
  if (error_) return nullptr;
  if (!vs->name.empty()) {
    auto m = core::Matcher::Create(
        core::MatchType::kEqual, std::string(core::kMetricNameLabel), vs->name);
    vs->matchers.push_back(*std::move(m));
  }
  if (vs->matchers.size() > limits_.max_matchers) {
    Fail(vs->pos.start, absl::StrCat("selector has ", vs->matchers.size(),
                                     " matchers, more than the limit of ",
                                     limits_.max_matchers));
    return nullptr;
  }
  return vs;
}

bool Parser::ParseLabelMatchers(VectorSelector& vs) {
  Advance();  // {
  if (cur_.type == TokenType::kRightBrace) {
    Advance();
    return !error_;
  }
  for (;;) {
    if (error_) return false;
    if (cur_.type != TokenType::kIdentifier) {
      Unexpected("label matching", "identifier or \"}\"");
      return false;
    }
    const Token label = cur_;
    Advance();
    core::MatchType type;
    switch (cur_.type) {
      case TokenType::kEql:
        type = core::MatchType::kEqual;
        break;
      case TokenType::kNeq:
        type = core::MatchType::kNotEqual;
        break;
      case TokenType::kEqlRegex:
        type = core::MatchType::kRegexMatch;
        break;
      case TokenType::kNeqRegex:
        type = core::MatchType::kRegexNoMatch;
        break;
      default:
        if (!error_) Unexpected("label matching", "label matching operator");
        return false;
    }
    Advance();
    if (error_) return false;
    if (cur_.type != TokenType::kString) {
      Unexpected("label matching", "string");
      return false;
    }
    std::string value;
    if (!Unquote(cur_, &value)) return false;
    auto m =
        core::Matcher::Create(type, std::string(label.text), std::move(value));
    if (!m.ok()) {
      Fail(label.pos, std::string(m.status().message()));
      return false;
    }
    vs.matchers.push_back(*std::move(m));
    Advance();
    if (cur_.type == TokenType::kComma) {
      Advance();
      if (cur_.type == TokenType::kRightBrace) break;
      continue;
    }
    if (cur_.type == TokenType::kRightBrace) break;
    if (!error_) Unexpected("label matching", "\",\" or \"}\"");
    return false;
  }
  Advance();  // }
  return !error_;
}

std::optional<std::vector<std::string>> Parser::ParseGroupingLabels() {
  if (error_) return std::nullopt;
  if (cur_.type != TokenType::kLeftParen) {
    Unexpected("grouping opts", "\"(\"");
    return std::nullopt;
  }
  Advance();
  std::vector<std::string> labels;
  while (!error_) {
    if (cur_.type == TokenType::kRightParen) {
      Advance();
      if (error_) break;
      return labels;
    }
    if (!IsMaybeLabel(cur_.type) || !core::IsValidLabelName(cur_.text)) {
      Unexpected("grouping opts", "label");
      break;
    }
    labels.emplace_back(cur_.text);
    Advance();
    if (cur_.type == TokenType::kComma) {
      Advance();
    } else if (cur_.type != TokenType::kRightParen && !error_) {
      Unexpected("grouping opts", "\",\" or \")\"");
    }
  }
  return std::nullopt;
}

}  // namespace keel::query_internal
