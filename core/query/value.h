// The values a PromQL expression evaluates to (Prometheus 2.42's
// promql/value.go): a scalar, a string, an instant vector or a range vector
// (matrix), each sample a float; and how an evaluation error maps to the
// error types of Prometheus' HTTP API.
//
//   absl::StatusOr<keel::query::Value> v = engine.Instant(*expr, t, ctx);
//   if (const auto* vec = std::get_if<keel::query::Vector>(&*v)) ...
//   if (!v.ok()) ErrorTypeName(ClassifyError(v.status()));  // "execution"
//
// Timestamps are milliseconds since the epoch.
//
// Thread safety: plain values.
#ifndef KEEL_CORE_QUERY_VALUE_H_
#define KEEL_CORE_QUERY_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "core/series/labels.h"

namespace keel::query {

struct Point {
  int64_t t = 0;
  double v = 0;
};

struct Sample {
  core::Labels metric;
  int64_t t = 0;
  double v = 0;
};

struct Series {
  core::Labels metric;
  std::vector<Point> points;  // ascending t
};

using Vector = std::vector<Sample>;
using Matrix = std::vector<Series>;

struct Scalar {
  int64_t t = 0;
  double v = 0;
};

struct String {
  int64_t t = 0;
  std::string v;
};

using Value = std::variant<Scalar, String, Vector, Matrix>;

// Prometheus' resultType: "scalar", "string", "vector" or "matrix".
std::string_view ResultTypeName(const Value& value);

// The error types of Prometheus' API (web/api/v1: errorBadData and so on).
enum class ErrorType { kNone, kBadData, kExecution, kTimeout, kCanceled };

// How the engine's statuses map: InvalidArgument and Unimplemented (a bad or
// unsupported expression) are bad_data; DeadlineExceeded is timeout;
// Cancelled is canceled; anything else (a failed evaluation, a budget
// exhausted) is execution, as Prometheus answers them.
ErrorType ClassifyError(const absl::Status& status);
// "bad_data", "execution", "timeout", "canceled"; "" for kNone.
std::string_view ErrorTypeName(ErrorType type);

}  // namespace keel::query

#endif  // KEEL_CORE_QUERY_VALUE_H_
