// The functions that take a range vector (rate, irate, increase, delta,
// idelta, deriv, predict_linear, holt_winters, resets, changes and every
// *_over_time): each computes one series' value at one step from the
// samples of its window, exactly as Prometheus 2.42's promql/functions.go.
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_QUERY_INTERNAL_RANGE_FUNCTIONS_H_
#define KEEL_CORE_QUERY_INTERNAL_RANGE_FUNCTIONS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "core/query/internal/eval_types.h"

namespace keel::query_internal {

struct WindowArgs {
  std::span<const EvalPoint> points;  // never empty
  // Every i >= 1 with points[i].v < points[i - 1].v, ascending: a counter's
  // resets, which the evaluator tracks as the window slides, so that rate
  // and increase need not scan a long window at every step.
  std::span<const uint32_t> drops;
  int64_t ts = 0;           // the step's evaluation time
  int64_t range_start = 0;  // ts - offset - range
  int64_t range_end = 0;    // ts - offset
  int64_t range_ms = 0;
  // The scalar arguments at this step, in call order (quantile_over_time's
  // q, predict_linear's t, holt_winters' sf and tf).
  double scalars[2] = {0, 0};
};

// Sets `*out` to the value, or leaves it empty when the function has none
// for this window (rate over one sample). Errors: holt_winters' factors.
using WindowFunction = absl::Status (*)(const WindowArgs& args,
                                        std::optional<double>* out);

// The function named `name`, null if it takes no range vector.
WindowFunction FindWindowFunction(std::string_view name);

// A function's values over up to kWindowBatch windows at once (no scalar
// arguments; every window non-empty), each exactly as the WindowFunction
// computes it: a window's arithmetic is one chain of dependent operations
// (avg_over_time's divisions), and interleaving the chains of several
// windows lets the CPU overlap their latencies.
constexpr std::size_t kWindowBatch = 4;
using WindowBatchFunction =
    void (*)(std::span<const std::span<const EvalPoint>> windows, double* out);

// The batch form of the function named `name`, null if it has none.
WindowBatchFunction FindWindowBatchFunction(std::string_view name);

// Prometheus' quantile over values (sorted here): the interpolated rank
// q * (n - 1); NaN for none or q NaN, -Inf below 0, +Inf above 1.
double Quantile(double q, std::span<double> values);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_RANGE_FUNCTIONS_H_
