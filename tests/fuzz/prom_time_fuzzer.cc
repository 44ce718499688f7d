// Prometheus times and durations (tools/server/prom_time.h) and byte sizes
// (serve_config.h ParseByteSize): durations are positive, a duration with
// units reads the same as a Prometheus duration, and a time, a duration or
// a size printed as a plain number reads back as itself.
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_util.h"
#include "tools/server/prom_time.h"
#include "tools/server/serve_config.h"

namespace {

// Milliseconds as Unix seconds with a three-digit fraction.
std::string Seconds(int64_t ms) {
  uint64_t magnitude =
      ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  std::string fraction = std::to_string(magnitude % 1000);
  fraction.insert(0, 3 - fraction.size(), '0');
  return absl::StrCat(ms < 0 ? "-" : "", magnitude / 1000, ".", fraction);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = keel::fuzz::AsText(data, size);

  auto time = keel::tools::ParsePromTime(text);
  if (time.ok()) {
    std::string printed = Seconds(*time);
    auto again = keel::tools::ParsePromTime(printed);
    FUZZ_CHECK(again.ok() && *again == *time)
        << text << " -> " << printed << ": " << again.status();
  }

  auto duration = keel::tools::ParsePromDuration(text);
  if (duration.ok()) {
    FUZZ_CHECK(*duration > 0) << text;
    std::string printed = absl::StrCat(*duration, "ms");
    auto again = keel::tools::ParsePromDuration(printed);
    FUZZ_CHECK(again.ok() && *again == *duration) << text << " -> " << printed;
  }
  auto with_units = keel::tools::ParseDurationWithUnits(text);
  if (with_units.ok()) {
    FUZZ_CHECK(*with_units > 0) << text;
    FUZZ_CHECK(duration.ok() && *duration == *with_units)
        << text << ": " << *with_units << " vs " << duration.status();
  }

  auto bytes = keel::tools::ParseByteSize(text);
  if (bytes.ok()) {
    auto again = keel::tools::ParseByteSize(absl::StrCat(*bytes));
    FUZZ_CHECK(again.ok() && *again == *bytes) << text;
  }
  return 0;
}
