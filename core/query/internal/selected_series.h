// The series a selector reads from the store, as the evaluator walks
// them: in label order (Prometheus' storage returns them so, and results
// follow it), each one's samples in time order, with stale markers told
// apart from other NaNs.
//
// Thread safety: a PointCursor belongs to one evaluation; the rest are pure
// functions.
#ifndef KEEL_CORE_QUERY_INTERNAL_SELECTED_SERIES_H_
#define KEEL_CORE_QUERY_INTERNAL_SELECTED_SERIES_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/query/internal/eval_types.h"
#include "core/series/series_store.h"

namespace keel::query_internal {

// Prometheus' stale marker: a NaN with this exact bit pattern.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;
inline bool IsStale(double v) {
  return std::bit_cast<uint64_t>(v) == kStaleNaNBits;
}

// The samples of one series in time order: from the store through its
// chunk iterator, or from a subquery's evaluated points.
class PointCursor {
 public:
  PointCursor(const core::SeriesSet& set, const core::SeriesSet::Entry& e)
      : it_(std::in_place, set.Samples(e)) {}
  explicit PointCursor(std::span<const EvalPoint> points) : points_(points) {}

  bool Next(EvalPoint* p) {
    if (it_) {
      if (!it_->Next()) return false;
      *p = {it_->t(), it_->v()};
      return true;
    }
    if (pos_ >= points_.size()) return false;
    *p = points_[pos_++];
    return true;
  }

 private:
  std::optional<core::SampleIterator> it_;
  std::span<const EvalPoint> points_;
  std::size_t pos_ = 0;
};

// The indices of `set`'s series in label order.
std::vector<std::size_t> SortedEntries(const core::SeriesSet& set);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_SELECTED_SERIES_H_
