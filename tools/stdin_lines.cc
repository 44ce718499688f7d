#include "keel/tools/stdin_lines.h"

#include <sys/types.h>

#include <cstdio>
#include <cstdlib>

namespace keel::tools {

StdinLines::~StdinLines() { std::free(buffer_); }

bool StdinLines::Next(std::string_view* line) {
  ssize_t n = getline(&buffer_, &capacity_, stdin);
  if (n < 0) return false;
  auto length = static_cast<size_t>(n);
  if (length > 0 && buffer_[length - 1] == '\n') --length;
  if (length > 0 && buffer_[length - 1] == '\r') --length;
  *line = std::string_view(buffer_, length);
  return true;
}

bool StdinLines::failed() const { return std::ferror(stdin) != 0; }

}  // namespace keel::tools
