// The functions over instant vectors and scalars (abs ... year, clamp,
// round, label_replace, label_join, sort, absent, scalar, vector, time,
// timestamp, histogram_quantile), one step at a time, as Prometheus 2.42's
// promql/functions.go computes them.
//
// Thread safety: a CallState belongs to one evaluation of one call.
#ifndef KEEL_CORE_QUERY_INTERNAL_INSTANT_FUNCTIONS_H_
#define KEEL_CORE_QUERY_INTERNAL_INSTANT_FUNCTIONS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/query/ast.h"
#include "core/query/internal/eval_types.h"
#include "core/query/internal/histogram_quantile.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace keel::query_internal {

// What one call keeps across its steps: caches of rewritten label sets and
// label_replace's compiled regex.
class CallState {
 public:
  CallState(const Call& call, LabelPool& pool);
  ~CallState();

  // Computes the call at step `ts` from its evaluated arguments (an empty
  // vector for a string argument; a scalar as a one-sample vector) into
  // `out`. Errors: execution errors (label_replace's regex, label names).
  absl::Status Apply(std::span<const EvalVector> args, int64_t ts,
                     EvalVector& out);

  // The name-less label set, cached.
  LabelsRef DropMetricName(LabelsRef labels);

 private:
  absl::Status LabelReplace(const EvalVector& in, EvalVector& out);
  absl::Status LabelJoin(const EvalVector& in, EvalVector& out);

  const Call& call_;
  LabelPool& pool_;
  absl::flat_hash_map<LabelsRef, LabelsRef> dropped_;
  absl::flat_hash_map<LabelsRef, LabelsRef> relabelled_;
  std::unique_ptr<re2::RE2> regex_;
  HistogramQuantiler quantiler_;
};

// The labels absent() and absent_over_time() give their answer: those of
// the argument's equality matchers (not __name__), a name matched twice
// dropped.
core::Labels AbsentLabels(const Expr& arg);

// The string literal an argument is (parentheses around it allowed).
const std::string& StringArg(const Expr& arg);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_INSTANT_FUNCTIONS_H_
