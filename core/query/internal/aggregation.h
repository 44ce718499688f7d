// The aggregation operators (sum avg count min max group stddev stdvar topk
// bottomk quantile count_values, by or without) over one step's instant
// vector, as Prometheus 2.42's evaluator.aggregation: groups in the order
// of their first series, sum without Kahan compensation, avg by its
// incremental mean, topk/bottomk through the same heaps.
//
// Thread safety: an Aggregator belongs to one evaluation of one node.
#ifndef KEEL_CORE_QUERY_INTERNAL_AGGREGATION_H_
#define KEEL_CORE_QUERY_INTERNAL_AGGREGATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/query/ast.h"
#include "core/query/internal/eval_types.h"

namespace keel::query_internal {

class Aggregator {
 public:
  // `grouping` as written; sorted here.
  Aggregator(AggregateOp op, std::vector<std::string> grouping, bool without,
             LabelPool& pool);

  // The grouping key of a series, computed once per input series.
  void Key(const core::Labels& labels, std::string* key) const;

  // One step: `keys[i]` is in[i]'s key; `param` is topk/bottomk's k or
  // quantile's q; `label` count_values' label name.
  // REQUIRES: a key string, once given, stays where it is and unchanged
  // for the aggregator's lifetime (the evaluator keeps one per input series
  // for the whole evaluation).
  absl::Status Apply(const EvalVector& in,
                     const std::vector<const std::string*>& keys, double param,
                     const std::string& label, EvalVector& out);

 private:
  struct Group {
    LabelsRef labels;
    double value;
    double mean;
    int64_t count;
    std::vector<EvalSample> heap;
  };

  LabelsRef GroupLabels(const core::Labels& metric);

  AggregateOp op_;
  std::vector<std::string> grouping_;
  bool without_;
  LabelPool& pool_;
  absl::flat_hash_map<std::string_view, std::size_t> index_;  // count_values
  // For the other operations, whose keys are the same at every step: a
  // key's address to the number of its text, and that number to its
  // group's index at this step (-1: none yet; touched_ lists those set), so
  // that a step looks addresses up instead of hashing key text.
  absl::flat_hash_map<const std::string*, uint32_t> key_ids_;
  absl::flat_hash_map<std::string_view, uint32_t> id_of_text_;
  std::vector<int64_t> group_of_id_;
  std::vector<uint32_t> touched_;
  std::vector<Group> groups_;
  std::string scratch_;
  std::vector<std::string> value_keys_;
};

}  // namespace keel::query_internal

#endif  // KEEL_CORE_QUERY_INTERNAL_AGGREGATION_H_
