// Matcher: one label condition of a series selector, `name op "value"` with
// op one of =, !=, =~, !~, with Prometheus semantics: regular expressions
// (RE2) are fully anchored, and a series without the label is treated as
// having the empty value, so `job!="x"` or `job=~".*"` also match series that
// lack `job`.
//
//   auto m = keel::core::Matcher::Create(MatchType::kRegexMatch, "job",
//                                        "node|api");
//   m->Matches("node");   // true
//   m->Matches("nodes");  // false: anchored
//
// Thread safety: immutable after Create; copies share the compiled regex.
#ifndef KEEL_CORE_MATCHER_H_
#define KEEL_CORE_MATCHER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace keel::core {

enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

// "=", "!=", "=~" or "!~".
std::string_view MatchTypeString(MatchType type);

class Matcher {
 public:
  // Fails with InvalidArgument when a regex does not compile (the message
  // names the label and RE2's reason).
  static absl::StatusOr<Matcher> Create(MatchType type, std::string name,
                                        std::string value);

  // Whether a label value (empty for an absent label) satisfies the matcher.
  bool Matches(std::string_view value) const;

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  // Matches("") : such a matcher also selects series lacking the label.
  bool matches_empty() const { return matches_empty_; }

  // `name="value"` with the value escaped.
  std::string ToString() const;

 private:
  Matcher(MatchType type, std::string name, std::string value,
          std::shared_ptr<const re2::RE2> regex);

  MatchType type_;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> regex_;  // only for the regex types
  bool matches_empty_;
};

}  // namespace keel::core

#endif  // KEEL_CORE_MATCHER_H_
