#include "tools/stdin_lines.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace keel::tools {

StdinLines::StdinLines() {
  int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    status_ =
        absl::UnavailableError(absl::StrCat("stdin: ", std::strerror(errno)));
    return;
  }
  auto reader = core::LineReader::FromDescriptor(
      fd, "stdin",
      {.max_line_bytes = core::LineReader::kMaxLineBytes,
       .buffer_bytes = 16 << 10});
  if (reader.ok()) {
    reader_.emplace(*std::move(reader));
  } else {
    status_ = reader.status();
  }
}

bool StdinLines::Next(std::string_view* line) {
  return reader_.has_value() && reader_->Next(line);
}

int64_t StdinLines::line_number() const {
  return reader_.has_value() ? reader_->line_number() : 0;
}

const absl::Status& StdinLines::status() const {
  return reader_.has_value() ? reader_->status() : status_;
}

}  // namespace keel::tools
