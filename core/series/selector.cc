#include "core/series/selector.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/series/internal/series_text_cursor.h"
#include "core/series/labels.h"

namespace keel::core {

absl::StatusOr<std::vector<Matcher>> ParseSelector(
    std::string_view text, const SelectorLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("selector is ", text.size(),
                                                   " bytes, over the limit of ",
                                                   limits.max_bytes, " bytes"));
  }
  core_internal::TextCursor in(text);
  std::vector<Matcher> matchers;
  in.SkipSpace();
  std::string_view metric = in.ReadName(/*metric=*/true);
  if (!metric.empty()) {
    auto m = Matcher::Create(MatchType::kEqual, std::string(kMetricNameLabel),
                             std::string(metric));
    matchers.push_back(*std::move(m));
  }
  in.SkipSpace();
  if (in.Consume('{')) {
    while (true) {
      in.SkipSpace();
      if (in.Consume('}')) break;
      std::string_view name = in.ReadName(/*metric=*/false);
      if (name.empty()) return in.Error("expected a label name or '}'");
      in.SkipSpace();
      MatchType type;
      if (in.Consume("=~")) {
        type = MatchType::kRegexMatch;
      } else if (in.Consume("!~")) {
        type = MatchType::kRegexNoMatch;
      } else if (in.Consume("!=")) {
        type = MatchType::kNotEqual;
      } else if (in.Consume('=')) {
        type = MatchType::kEqual;
      } else {
        return in.Error(absl::StrCat("expected =, !=, =~ or !~ after label \"",
                                     std::string(name), "\""));
      }
      in.SkipSpace();
      std::string value;
      if (auto s = in.ReadQuoted(value); !s.ok()) return s;
      if (matchers.size() == limits.max_matchers) {
        return in.Error(absl::StrCat("more than ", limits.max_matchers,
                                     " matchers (the limit)"));
      }
      auto m = Matcher::Create(type, std::string(name), std::move(value));
      if (!m.ok()) return in.Error(std::string(m.status().message()));
      matchers.push_back(*std::move(m));
      in.SkipSpace();
      if (in.Consume(',')) continue;
      if (in.Consume('}')) break;
      return in.Error("expected ',' or '}'");
    }
  } else if (metric.empty()) {
    return in.Error("expected a metric name or '{'");
  }
  in.SkipSpace();
  if (!in.AtEnd()) return in.Error("unexpected text after the selector");
  if (matchers.empty())
    return in.Error("a selector needs at least one matcher");
  return matchers;
}

}  // namespace keel::core
