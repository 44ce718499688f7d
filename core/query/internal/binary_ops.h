// Binary operators at one step, as Prometheus 2.42's VectorBinop,
// VectorscalarBinop, scalarBinop and the set operators: one-to-one,
// many-to-one and one-to-many matching on signatures (on/ignoring), the
// metric name dropped by arithmetic and by `bool`, and the errors for
// matches that are not unique.
//
// Thread safety: a VectorMatcher belongs to one evaluation of one node.
#ifndef KEEL_CORE_QUERY_INTERNAL_BINARY_OPS_H_
#define KEEL_CORE_QUERY_INTERNAL_BINARY_OPS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "core/query/internal/eval_types.h"

namespace keel::query_internal {

// lhs op rhs on two scalars.
double ScalarBinop(BinaryOp op, double lhs, double rhs);

// lhs op rhs on two vector elements: the value and whether a comparison
// keeps it (arithmetic always does).
bool VectorElemBinop(BinaryOp op, double lhs, double rhs, double* value);

// Whether `op`'s result drops the metric name (arithmetic does).
bool DropsMetricName(BinaryOp op);

class VectorMatcher {
 public:
  VectorMatcher(const BinaryExpr& expr, LabelPool& pool);

  // The matching signature of a series, computed once per input series.
  void Signature(const core::Labels& labels, std::string* key) const;

  // One step of vector op vector; lsig[i]/rsig[i] are the signatures of
  // lhs[i]/rhs[i].
  absl::Status Apply(const EvalVector& lhs, const EvalVector& rhs,
                     const std::vector<const std::string*>& lsig,
                     const std::vector<const std::string*>& rsig,
                     EvalVector& out);

  // One step of vector op scalar (`swap`: the scalar is on the left).
  void ApplyScalar(const EvalVector& vec, double scalar, bool swap,
                   EvalVector& out);

 private:
  // One element of lhs op rhs as the result holds it: 1 or 0 with `bool`,
  // else the value, or empty when a comparison drops the element. The
  // value of a comparison is its left side's, or its right side's when
  // `rhs_is_vector` (a scalar on the left).
  std::optional<double> Combine(double lhs, double rhs,
                                bool rhs_is_vector) const;
  LabelsRef ResultMetric(LabelsRef lhs, LabelsRef rhs);
  LabelsRef DropName(LabelsRef labels);
  std::string DescribeGroup(const core::Labels& labels) const;

  const BinaryExpr& expr_;
  const VectorMatching* matching_;
  std::vector<std::string> names_;  // matching labels, sorted
  LabelPool& pool_;
  absl::flat_hash_map<LabelsRef, LabelsRef> dropped_;
  absl::flat_hash_map<std::pair<LabelsRef, LabelsRef>, LabelsRef> results_;
};

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_BINARY_OPS_H_
