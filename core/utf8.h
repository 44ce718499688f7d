// Well-formed UTF-8 as RFC 3629 defines it: no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing past U+10FFFF. The one check behind
// label values (labels.h, snapshots) and JSON output (tools/json.h).
//
//   if (!keel::core::IsValidUtf8(value)) return error;
//   size_t n = keel::core::Utf8SequenceLength(text.substr(i));  // 0: invalid
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_UTF8_H_
#define KEEL_CORE_UTF8_H_

#include <cstddef>
#include <string_view>

namespace keel::core {

// The length (1..4) of the well-formed UTF-8 sequence that starts `text`,
// or 0 when none does (an empty `text` included).
std::size_t Utf8SequenceLength(std::string_view text);

// True if `text` is well-formed UTF-8 throughout.
bool IsValidUtf8(std::string_view text);

}  // namespace keel::core

#endif  // KEEL_CORE_UTF8_H_
