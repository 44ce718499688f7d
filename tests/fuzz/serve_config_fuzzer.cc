// keel serve's configuration file (tools/server/serve_config.h): the input
// is a config file, read by ReadConfigFile and checked by FromSettings.
// Every setting read has a known key and a trimmed, non-empty value free of
// comments; a configuration that FromSettings accepts is accepted again
// after the settings are merged over themselves.
#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "tests/fuzz/fuzz_util.h"
#include "tools/server/serve_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  keel::fuzz::MemFile file(keel::fuzz::AsText(data, size));
  auto settings = keel::tools::ReadConfigFile(file.path());
  if (!settings.ok()) return 0;
  for (const auto& [key, value] : *settings) {
    FUZZ_CHECK(std::find(std::begin(keel::tools::kServeKeys),
                         std::end(keel::tools::kServeKeys),
                         key) != std::end(keel::tools::kServeKeys))
        << key;
    FUZZ_CHECK(!value.empty()) << key;
    FUZZ_CHECK(value.find('#') == std::string::npos) << key << "=" << value;
    FUZZ_CHECK(
        !absl::ascii_isspace(static_cast<unsigned char>(value.front())) &&
        !absl::ascii_isspace(static_cast<unsigned char>(value.back())))
        << key << "=" << value;
  }
  auto config = keel::tools::ServeConfig::FromSettings(*settings);
  keel::tools::Settings merged = *settings;
  keel::tools::MergeSettings(*settings, &merged);
  FUZZ_CHECK(merged.size() == settings->size());
  auto again = keel::tools::ServeConfig::FromSettings(merged);
  FUZZ_CHECK(again.ok() == config.ok())
      << config.status() << " vs " << again.status();
  return 0;
}
