// LogEvent: one line per server event on stderr, stamped with UTC time to the
// millisecond, so that a supervisor's log reads as a timeline:
//
//   2026-11-22T07:40:01.123Z keel serve: snapshot written: 1.2 MB in 0.03 s
//
//   LogEvent(absl::StrCat("listening on ", address));
//
// Thread safety: any thread; each line is written with one call.
#ifndef KEEL_TOOLS_SERVER_EVENT_LOG_H_
#define KEEL_TOOLS_SERVER_EVENT_LOG_H_

#include <string_view>

namespace keel::tools {

void LogEvent(std::string_view message);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_EVENT_LOG_H_
