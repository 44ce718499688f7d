// The JSON string array reader (tools/server/json_string_array.h), the body
// of POST /v1/lookup: an accepted array, written back with JsonQuote, reads
// back as the same strings when they are UTF-8 (the reader passes other
// bytes through; JsonQuote replaces them); the item limit holds.
#include <string>
#include <vector>

#include "core/series/labels.h"
#include "tests/fuzz/fuzz_util.h"
#include "tools/json.h"
#include "tools/server/json_string_array.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxItems = 64;
  std::string_view text = keel::fuzz::AsText(data, size);
  auto items = keel::tools::ParseJsonStringArray(text, kMaxItems);
  if (!items.ok()) return 0;
  FUZZ_CHECK(items->size() <= kMaxItems) << items->size();
  for (const std::string& s : *items) {
    if (!keel::core::IsValidUtf8(s)) return 0;
  }
  std::string printed = "[";
  for (const std::string& s : *items) {
    if (printed.size() > 1) printed += ",";
    printed += keel::tools::JsonQuote(s);
  }
  printed += "]";
  auto again = keel::tools::ParseJsonStringArray(printed, kMaxItems);
  FUZZ_CHECK(again.ok()) << printed << ": " << again.status();
  FUZZ_CHECK(*again == *items) << text << " -> " << printed;
  return 0;
}
