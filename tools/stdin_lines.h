// StdinLines: standard input, line by line, for the commands that answer
// queries from a pipe (keel lookup, keel prefix --longest -).
//
//   StdinLines lines;
//   std::string_view line;
//   while (lines.Next(&line)) ...
//   if (!lines.status().ok()) ...      // stopped before the end
//
// A LineReader (core/io/line_reader.h) over a duplicate of descriptor 0, with a
// small first buffer: lines are bounded by LineReader::kMaxLineBytes (a
// longer one stops the reading with an error naming "stdin:N" and the limit),
// and a read error or a failed allocation is an error, never the end of the
// input. Gzip input is read as such. Not iostreams: no process that includes
// <iostream> escapes initializing every locale facet at startup, which maps
// hundreds of KB of library code into a command otherwise measured in MB.
//
// Thread safety: none; one reader per process.
#ifndef KEEL_TOOLS_STDIN_LINES_H_
#define KEEL_TOOLS_STDIN_LINES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "core/io/line_reader.h"

namespace keel::tools {

class StdinLines {
 public:
  StdinLines();
  StdinLines(const StdinLines&) = delete;
  StdinLines& operator=(const StdinLines&) = delete;

  // Sets *line to the next line, without its "\n" or a "\r" before it, and
  // returns true; false at the end of input or on an error. *line stays
  // valid until the next call.
  bool Next(std::string_view* line);

  // The number of the line Next returned last, from 1.
  int64_t line_number() const;

  // OK at the end of input; otherwise why reading stopped early.
  const absl::Status& status() const;

 private:
  std::optional<core::LineReader> reader_;
  absl::Status status_;  // opening's error, when reader_ is empty
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_STDIN_LINES_H_
