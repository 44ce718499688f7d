#include "tools/server/event_log.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

#include "absl/strings/str_format.h"

namespace keel::tools {

void LogEvent(std::string_view message) {
  auto now = std::chrono::system_clock::now();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                    now.time_since_epoch())
                    .count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc;
  gmtime_r(&seconds, &utc);
  std::string line = absl::StrFormat(
      "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ keel serve: %s\n",
      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
      utc.tm_sec, static_cast<int>(millis % 1000),
      absl::string_view(message.data(), message.size()));
  // One write(2), so that lines from several threads never interleave.
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace keel::tools
