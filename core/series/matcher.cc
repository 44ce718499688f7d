#include "core/series/matcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace keel::core {

std::string_view MatchTypeString(MatchType type) {
  switch (type) {
    case MatchType::kEqual:
      return "=";
    case MatchType::kNotEqual:
      return "!=";
    case MatchType::kRegexMatch:
      return "=~";
    case MatchType::kRegexNoMatch:
      return "!~";
  }
  return "?";
}

absl::StatusOr<Matcher> Matcher::Create(MatchType type, std::string name,
                                        std::string value) {
  std::shared_ptr<const re2::RE2> regex;
  if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);  // Prometheus compiles with (?s)
    options.set_max_mem(kRegexMaxMem);
    auto re = std::make_shared<re2::RE2>(value, options);
    if (re->error_code() == re2::RE2::ErrorPatternTooLarge) {
      constexpr size_t kShown = 64;
      return absl::InvalidArgumentError(absl::StrCat(
          "matcher on label \"", name, "\": regex \"", value.substr(0, kShown),
          value.size() > kShown ? "...\"" : "\"",
          " is too large: its compiled form exceeds the limit of ",
          kRegexMaxMem, " bytes per regex"));
    }
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("matcher on label \"", name, "\": bad regex \"", value,
                       "\": ", re->error()));
    }
    regex = std::move(re);
  }
  return Matcher(type, std::move(name), std::move(value), std::move(regex));
}

Matcher::Matcher(MatchType type, std::string name, std::string value,
                 std::shared_ptr<const re2::RE2> regex)
    : type_(type),
      name_(std::move(name)),
      value_(std::move(value)),
      regex_(std::move(regex)),
      matches_empty_(false),
      program_size_(regex_ ? static_cast<uint64_t>(regex_->ProgramSize()) : 0) {
  matches_empty_ = Matches("");
}

bool Matcher::Matches(std::string_view value) const {
  switch (type_) {
    case MatchType::kEqual:
      return value == value_;
    case MatchType::kNotEqual:
      return value != value_;
    case MatchType::kRegexMatch:
      return re2::RE2::FullMatch(re2::StringPiece(value.data(), value.size()),
                                 *regex_);
    case MatchType::kRegexNoMatch:
      return !re2::RE2::FullMatch(re2::StringPiece(value.data(), value.size()),
                                  *regex_);
  }
  return false;
}

std::string Matcher::ToString() const {
  std::string_view op = MatchTypeString(type_);
  std::string out =
      absl::StrCat(name_, absl::string_view(op.data(), op.size()), "\"");
  for (char c : value_) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace keel::core
