// ErrnoStatus: a failed system call as an absl::Status, one way for every
// file keel reads or writes. The code is absl::ErrnoToStatus's (ENOENT is
// NotFound, EACCES PermissionDenied, ENOSPC ResourceExhausted, ...), so a
// caller can tell a missing file from a full disk; the message names the
// file and the operation:
//
//   if (fd < 0) return ErrnoStatus(errno, path, "open");
//   // NotFound: "/data/x.keel: open: No such file or directory"
//
// Thread safety: a pure function (take errno before any other call).
#ifndef KEEL_CORE_IO_ERRNO_STATUS_H_
#define KEEL_CORE_IO_ERRNO_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace keel::core {

[[gnu::cold, gnu::noinline]] inline absl::Status ErrnoStatus(
    int error, std::string_view path, std::string_view operation) {
  return absl::ErrnoToStatus(
      error,
      absl::StrCat(absl::string_view(path.data(), path.size()), ": ",
                   absl::string_view(operation.data(), operation.size())));
}

}  // namespace keel::core

#endif  // KEEL_CORE_IO_ERRNO_STATUS_H_
