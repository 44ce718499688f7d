// histogram_quantile over classic buckets (series with an `le` label), as
// Prometheus 2.42's funcHistogramQuantile and bucketQuantile
// (promql/quantile.go): buckets grouped by their labels without `le` and
// __name__, sorted by upper bound, equal bounds merged, counts made
// monotonic, a +Inf bucket required, linear interpolation inside the bucket
// holding the rank.
//
// Thread safety: the functions are pure; see HistogramQuantiler.
#ifndef KEEL_CORE_QUERY_INTERNAL_HISTOGRAM_QUANTILE_H_
#define KEEL_CORE_QUERY_INTERNAL_HISTOGRAM_QUANTILE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/query/internal/eval_types.h"

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

// histogram_quantile over the steps of one call. A series' `le` bound and
// group (its labels but `le`) are worked out the first time it comes and
// remembered by its interned labels, not parsed and hashed again at every
// step of a range query.
//
// Thread safety: one thread at a time.
class HistogramQuantiler {
 public:
  // histogram_quantile(q, in) at one step, appended to `out` in the order
  // of each group's first bucket in `in`.
  void Apply(double q, const EvalVector& in, LabelPool& pool, EvalVector& out);

 private:
  struct Series {
    std::optional<double> upper;  // none: no valid `le`, ignored
    std::size_t group = 0;
  };
  struct Group {
    LabelsRef metric;
    std::vector<Bucket> buckets;  // this step's
    uint64_t step = 0;            // the step `buckets` belong to
  };
  absl::flat_hash_map<LabelsRef, Series> series_;
  absl::flat_hash_map<std::string, std::size_t> index_;  // key -> group
  std::vector<Group> groups_;
  std::vector<std::size_t> order_;  // this step's groups, first seen first
  uint64_t step_ = 0;
  std::string key_;
};

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_HISTOGRAM_QUANTILE_H_
