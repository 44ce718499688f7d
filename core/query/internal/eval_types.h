// What the evaluator passes between its parts: series and samples whose
// label sets are interned in a per-query LabelPool, so a label set is a
// pointer, two equal sets are the same pointer, and a sample costs 24 bytes
// however many labels its series has.
//
// Thread safety: one query's evaluation runs on one thread; none of this is
// shared between queries.
#ifndef KEEL_CORE_QUERY_INTERNAL_EVAL_TYPES_H_
#define KEEL_CORE_QUERY_INTERNAL_EVAL_TYPES_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "core/query/ast.h"
#include "core/query/value.h"
#include "core/series/labels.h"

namespace keel::query_internal {

// PromQL's answer where a function has none (no sample, no bucket).
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The syntax tree's names, which every part of the evaluator uses.
using query::AggregateExpr;
using query::AggregateOp;
using query::AtModifier;
using query::BinaryExpr;
using query::BinaryOp;
using query::Call;
using query::Cardinality;
using query::Expr;
using query::ExprKind;
using query::MatrixSelector;
using query::ParenExpr;
using query::StringLiteral;
using query::SubqueryExpr;
using query::TimeModifiers;
using query::UnaryExpr;
using query::ValueType;
using query::VectorMatching;
using query::VectorSelector;

#define KEEL_QUERY_RETURN_IF_ERROR(expr)                     \
  do {                                                       \
    absl::Status keel_query_status_ = (expr);                \
    if (!keel_query_status_.ok()) return keel_query_status_; \
  } while (0)

// An interned label set: equal sets are equal pointers.
using LabelsRef = const core::Labels*;

// The answer's own point type, so that a result's points are moved into
// the answer, never copied.
using EvalPoint = query::Point;

struct EvalSeries {
  LabelsRef metric;
  std::vector<EvalPoint> points;  // ascending t
};
using EvalMatrix = std::vector<EvalSeries>;

struct EvalSample {
  LabelsRef metric;
  double v;
  int64_t t;  // the sample's own time (timestamp() reads it)
};
using EvalVector = std::vector<EvalSample>;

// Owns every label set of one query. Pointers stay valid for its lifetime.
class LabelPool {
 public:
  LabelPool();
  LabelPool(const LabelPool&) = delete;
  LabelPool& operator=(const LabelPool&) = delete;

  // REQUIRES: `labels` sorted by name, names unique.
  LabelsRef Intern(core::Labels labels);
  LabelsRef Empty() const { return empty_; }

 private:
  absl::node_hash_map<std::string, core::Labels> sets_;
  std::string key_;
  LabelsRef empty_;
};

// The samples `m` holds.
uint64_t TotalPoints(const EvalMatrix& m);

// `e` with the parentheses around it taken off.
const Expr& Unparen(const Expr& e);

// An execution error (Prometheus' errorExecution).
absl::Status ExecutionError(std::string_view message);

// The value of label `name`, "" when absent.
std::string_view GetLabel(const core::Labels& labels, std::string_view name);
// Prometheus' labels.Compare: label by label, name then value; a prefix
// sorts first.
int CompareLabels(const core::Labels& a, const core::Labels& b);
// `labels` without __name__.
core::Labels WithoutMetricName(const core::Labels& labels);

// Whether label `name` is part of a signature: one of `names` (REQUIRES:
// sorted) when `on`, else neither one of them nor __name__.
bool InSignature(std::string_view name, bool on,
                 const std::vector<std::string>& names);

// A key identifying a series by the labels InSignature takes: the
// vector-matching signature and the aggregation grouping key.
void SignatureKey(const core::Labels& labels, bool on,
                  const std::vector<std::string>& names, std::string* key);

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_EVAL_TYPES_H_
