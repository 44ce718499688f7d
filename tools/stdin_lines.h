// StdinLines: standard input, line by line, for the commands that answer
// queries from a pipe (keel lookup, keel prefix --longest -).
//
//   StdinLines lines;
//   std::string_view line;
//   while (lines.Next(&line)) ...
//   if (lines.failed()) ...                // a read error, not the end
//
// Reads through stdio's buffer (a few KB) into one line buffer that grows
// to the longest line, rather than iostreams: no process that includes
// <iostream> escapes initializing every locale facet at startup, which maps
// hundreds of KB of library code into a command otherwise measured in MB.
//
// Thread safety: none; one reader per process.
#ifndef KEEL_TOOLS_STDIN_LINES_H_
#define KEEL_TOOLS_STDIN_LINES_H_

#include <cstddef>
#include <string_view>

namespace keel::tools {

class StdinLines {
 public:
  StdinLines() = default;
  StdinLines(const StdinLines&) = delete;
  StdinLines& operator=(const StdinLines&) = delete;
  ~StdinLines();

  // Sets *line to the next line, without its "\n" or a "\r" before it, and
  // returns true; false at the end of input or on a read error. *line stays
  // valid until the next call.
  bool Next(std::string_view* line);

  // Whether reading stopped on an error rather than at the end.
  bool failed() const;

 private:
  char* buffer_ = nullptr;  // getline(3)'s, freed with free()
  size_t capacity_ = 0;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_STDIN_LINES_H_
