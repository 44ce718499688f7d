// Series selectors (core/series/selector.h): a selector that parses prints,
// matcher by matcher, as a selector that parses back to the same matchers; each
// matcher's MatchesEmpty() is Matches("").
#include <string>
#include <vector>

#include "core/series/selector.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = keel::fuzz::AsText(data, size);
  auto parsed = keel::core::ParseSelector(text);
  if (!parsed.ok()) return 0;
  keel::core::SelectorLimits limits;
  FUZZ_CHECK(!parsed->empty() || text.find('{') != std::string_view::npos)
      << text;
  FUZZ_CHECK(parsed->size() <= limits.max_matchers);
  std::string printed = "{";
  for (const keel::core::Matcher& m : *parsed) {
    FUZZ_CHECK(m.MatchesEmpty() == m.Matches("")) << m.ToString();
    if (printed.size() > 1) printed += ",";
    printed += m.ToString();
  }
  printed += "}";
  // Escapes make the printed text longer than the input.
  limits.max_bytes = 4 * text.size() + 16;
  auto again = keel::core::ParseSelector(printed, limits);
  FUZZ_CHECK(again.ok()) << text << " -> " << printed << ": " << again.status();
  FUZZ_CHECK(again->size() == parsed->size()) << printed;
  for (size_t i = 0; i < parsed->size(); ++i) {
    const keel::core::Matcher& a = (*parsed)[i];
    const keel::core::Matcher& b = (*again)[i];
    FUZZ_CHECK(a.type() == b.type() && a.name() == b.name() &&
               a.value() == b.value())
        << printed << " matcher " << i;
  }
  return 0;
}
