// histogram_quantile over classic buckets (series with an `le` label), as
// Prometheus 2.42's funcHistogramQuantile and bucketQuantile
// (promql/quantile.go): buckets grouped by their labels without `le` and
// __name__, sorted by upper bound, equal bounds merged, counts made
// monotonic, a +Inf bucket required, linear interpolation inside the bucket
// holding the rank.
//
// Thread safety: pure functions.
#ifndef KEEL_CORE_QUERY_INTERNAL_HISTOGRAM_QUANTILE_H_
#define KEEL_CORE_QUERY_INTERNAL_HISTOGRAM_QUANTILE_H_

#include <optional>
#include <string_view>
#include <vector>

#include "keel/core/query/internal/eval_types.h"

namespace keel::query_internal {

struct Bucket {
  double upper_bound;
  double count;
};

// REQUIRES: buckets not empty. Reorders and rewrites `buckets`.
double BucketQuantile(double q, std::vector<Bucket>& buckets);

// Go's strconv.ParseFloat(s, 64), as `le` values are read: decimal forms,
// an optional sign, Inf/Infinity/NaN in any case; nothing around them.
std::optional<double> ParseGoFloat(std::string_view s);

// histogram_quantile(q, in) at one step, appended to `out` in the order of
// each group's first bucket.
void HistogramQuantile(double q, const EvalVector& in, LabelPool& pool,
                       EvalVector& out);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_HISTOGRAM_QUANTILE_H_
