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
// A regex compiles under a memory bound (kRegexMaxMem: RE2's program and
// its lazily built DFA), so neither one pattern nor many concurrent queries
// holding regexes can take much memory, and a pattern too large for it is
// refused. Matching costs about the value's length times the program's size
// at worst (RE2 falls back from its DFA to an NFA), which MatchCost
// estimates for a caller that must bound its time.
//
// Thread safety: immutable after Create; copies share the compiled regex.
#ifndef KEEL_CORE_SERIES_MATCHER_H_
#define KEEL_CORE_SERIES_MATCHER_H_

#include <cstddef>
#include <cstdint>
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
  // RE2's max_mem for each regex.
  static constexpr int64_t kRegexMaxMem = int64_t{1} << 20;

  // Fails with InvalidArgument when a regex does not compile (the message
  // names the label and RE2's reason, or the size limit).
  static absl::StatusOr<Matcher> Create(MatchType type, std::string name,
                                        std::string value);

  // Whether a label value (empty for an absent label) satisfies the matcher.
  bool Matches(std::string_view value) const;
  // The work Matches(value) may take, in QueryContext units (about a cheap
  // step each): 1 for an equality, more for a regex as its program and the
  // value grow.
  uint64_t MatchCost(std::size_t value_bytes) const {
    return 1 + (value_bytes * program_size_ >> kCostShift);
  }

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  // Matches("") : such a matcher also selects series lacking the label.
  bool MatchesEmpty() const { return matches_empty_; }

  // `name="value"` with the value escaped.
  std::string ToString() const;

 private:
  // An NFA step (one instruction on one byte) is a small fraction of a
  // cheap step; 2^kCostShift of them make about one unit.
  static constexpr int kCostShift = 9;

  Matcher(MatchType type, std::string name, std::string value,
          std::shared_ptr<const re2::RE2> regex);

  MatchType type_;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> regex_;  // only for the regex types
  bool matches_empty_;
  uint64_t program_size_;  // RE2's; 0 for the equality types
};

}  // namespace keel::core

#endif  // KEEL_CORE_SERIES_MATCHER_H_
