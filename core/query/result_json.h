// The data of a query answer as Prometheus 2.42's HTTP API writes it
// (web/api/v1 and util/jsonutil): {"resultType":...,"result":...}.
//
//   std::string out;
//   bool done = AppendResultJson(value, &out, [&](size_t bytes) {
//     return ctx.AddResultBytes(bytes);
//   });
//
// Sample timestamps are seconds with the milliseconds as three digits when
// not zero (1435781451.781, 1435781451.500, 1435781451); values are
// strings, Go's strconv 'f' format with the fewest digits that read back,
// 'e' when |v| < 1e-6 or |v| >= 1e21, "NaN", "+Inf", "-Inf". A scalar or
// string result's time is a JSON number (Go's float64(t)/1000) and a
// scalar's value always 'f', as Prometheus' Scalar.MarshalJSON has them.
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_QUERY_RESULT_JSON_H_
#define KEEL_CORE_QUERY_RESULT_JSON_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "core/query/value.h"
#include "core/series/labels.h"

namespace keel::query {

// Appends the data object of a query answer. `charge` is told the bytes
// appended after each sample or series (and at the end) and returns false
// to stop: then AppendResultJson returns false, `out` half written. It may
// take away what `out` holds (send it on and clear it), so that an answer
// is written in pieces.
bool AppendResultJson(const Value& value, std::string* out,
                      absl::FunctionRef<bool(std::size_t)> charge);

// At most the bytes AppendResultJson appends for `value`, without writing
// it: exact but for each sample value, counted as kMaxValueTextBytes. A
// pass over the series, not the points, so that a caller can tell an
// answer fits its limit before it sends any of it.
std::size_t ResultJsonBound(const Value& value);
// The longest text AppendValueText writes: a sign, "0.00000" and 17
// significant digits.
inline constexpr std::size_t kMaxValueTextBytes = 25;

// {"name":"value",...} in the labels' order.
void AppendLabelsJson(const core::Labels& labels, std::string* out);
// A JSON string, escaped as Go's encoding/json does (<, >, & as \u003c...).
void AppendJsonString(std::string_view text, std::string* out);
// A sample value as Prometheus writes one (without the quotes).
void AppendValueText(double v, std::string* out);
// A sample timestamp as Prometheus writes one.
void AppendTimestamp(int64_t t_ms, std::string* out);

}  // namespace keel::query

#endif  // KEEL_CORE_QUERY_RESULT_JSON_H_
