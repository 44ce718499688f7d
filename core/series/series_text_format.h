// The series import format: Prometheus' text exposition format with one
// sample a line and a millisecond timestamp on every line, as promtool's
// backfill reads it:
//
//   # HELP and TYPE lines, blank lines: skipped
//   http_requests_total{method="post",code="200"} 1027 1395066363000
//   {__name__="up",job="node"} 1 1395066363000
//
// Values: Go float syntax (1, -2.5e3, NaN, +Inf, -Inf). Label values are
// double-quoted with the escapes \\ \" \n.
//
//   keel::core::SeriesStore store;
//   absl::StatusOr<ImportSummary> s = ImportTextFile("data.txt", store);
//
// Thread safety: pure functions; ImportTextFile appends to a store, which is
// itself thread-safe.
#ifndef KEEL_CORE_SERIES_SERIES_TEXT_FORMAT_H_
#define KEEL_CORE_SERIES_SERIES_TEXT_FORMAT_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/series/labels.h"
#include "core/series/series_store.h"

namespace keel::core {

struct TextSample {
  Labels labels;  // as written (not normalized)
  int64_t t = 0;
  double v = 0;
};

// Parses one sample line into `out`. Returns false for a line to skip (empty
// or a `#` comment). Errors: InvalidArgument saying what is wrong at which
// byte offset of the line.
absl::StatusOr<bool> ParseSampleLine(std::string_view line, TextSample& out);

// Formats a sample as one line of the import format (no newline); the value
// is printed so that it parses back to the same bits (NaN payloads aside:
// every NaN prints as NaN).
std::string FormatSampleLine(const Labels& labels, int64_t t, double v);

// Calls `fn` with every sample of the file in order (plain or gzip, a pipe
// such as /dev/stdin included; read by LineReader, so lines are limited to
// LineReader::kMaxLineBytes; comment and empty lines skipped); `fn` may move
// from the sample. Returns the number of lines read. Stops at the first bad
// line, a line over the limit, a read error or an error from `fn`, and
// returns it as "<path>:<line>: <what>", with the error's code.
absl::StatusOr<uint64_t> ForEachSampleInFile(
    const std::string& path, absl::FunctionRef<absl::Status(TextSample&)> fn);

struct ImportSummary {
  uint64_t lines = 0;
  uint64_t samples = 0;  // lines holding a sample
  uint64_t appended = 0;
  uint64_t duplicates = 0;
  uint64_t out_of_order = 0;
  uint64_t conflicts = 0;
  uint64_t too_old = 0;     // in windows the store already dropped
  uint64_t new_series = 0;  // series the import created
  int64_t min_time = std::numeric_limits<int64_t>::max();
  int64_t max_time = std::numeric_limits<int64_t>::min();
};

// Appends every sample of the file (read as ForEachSampleInFile reads it) to
// `store`. Stops at the first bad line, a line over the limit, a read error
// or a series the store refuses: the error reads "<path>:<line>: <what>";
// samples before it stay appended, so a caller that writes the store out
// must not do so on an error.
absl::StatusOr<ImportSummary> ImportTextFile(const std::string& path,
                                             SeriesStore& store);

}  // namespace keel::core

#endif  // KEEL_CORE_SERIES_SERIES_TEXT_FORMAT_H_
