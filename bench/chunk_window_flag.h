// The --chunk-window flag of the series benchmarks (bench series, bench
// snapshot, bench sealed-query): a duration such as 300s or 2h, set in the
// store's options and checked as any option is.
//
//   core::SeriesStoreOptions options;
//   if (absl::Status s = ApplyChunkWindowFlag(flags.chunk_window, options);
//       !s.ok()) {
//     return UsageError(kName, s);
//   }
#ifndef KEEL_BENCH_CHUNK_WINDOW_FLAG_H_
#define KEEL_BENCH_CHUNK_WINDOW_FLAG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/series/series_store.h"

namespace keel::tools {

// Sets options.chunk_window_ms from `text` ("" keeps the default), then
// checks the options.
inline absl::Status ApplyChunkWindowFlag(const std::string& text,
                                         core::SeriesStoreOptions& options) {
  if (!text.empty()) {
    absl::Duration window;
    if (!absl::ParseDuration(text, &window) || window < absl::Milliseconds(1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--chunk-window ", text, " is not a duration such as 300s or 2h"));
    }
    options.chunk_window_ms = absl::ToInt64Milliseconds(window);
  }
  return core::SeriesStore::CheckOptions(options);
}

}  // namespace keel::tools

#endif  // KEEL_BENCH_CHUNK_WINDOW_FLAG_H_
