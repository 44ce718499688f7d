#include "core/query/internal/aggregation.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/internal/go_text.h"
#include "core/query/internal/range_functions.h"

namespace keel::query_internal {
namespace {

// Go's container/heap over a slice ordered by `less`.
template <typename Less>
void HeapUp(std::vector<EvalSample>& h, std::size_t j, Less less) {
  while (j > 0) {
    std::size_t i = (j - 1) / 2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}

template <typename Less>
void HeapDown(std::vector<EvalSample>& h, std::size_t i, std::size_t n,
              Less less) {
  for (;;) {
    std::size_t j1 = 2 * i + 1;
    if (j1 >= n) break;
    std::size_t j = j1;
    if (std::size_t j2 = j1 + 1; j2 < n && less(h[j2], h[j1])) j = j2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    i = j;
  }
}

template <typename Less>
void HeapPush(std::vector<EvalSample>& h, const EvalSample& s, Less less) {
  h.push_back(s);
  HeapUp(h, h.size() - 1, less);
}

template <typename Less>
void HeapPop(std::vector<EvalSample>& h, Less less) {
  std::size_t n = h.size() - 1;
  std::swap(h[0], h[n]);
  HeapDown(h, 0, n, less);
  h.pop_back();
}

// vectorByValueHeap and vectorByReverseValueHeap: NaN on top of both.
bool ValueLess(const EvalSample& a, const EvalSample& b) {
  return std::isnan(a.v) || a.v < b.v;
}
bool ReverseValueLess(const EvalSample& a, const EvalSample& b) {
  return std::isnan(a.v) || a.v > b.v;
}

// strconv.FormatFloat(v, 'f', -1, 64): the shortest decimal that reads
// back as v, never an exponent.
std::string FormatFloatF(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

}  // namespace

Aggregator::Aggregator(AggregateOp op, std::vector<std::string> grouping,
                       bool without, LabelPool& pool)
    : op_(op), grouping_(std::move(grouping)), without_(without), pool_(pool) {
  std::sort(grouping_.begin(), grouping_.end());
}

void Aggregator::Key(const core::Labels& labels, std::string* key) const {
  if (!without_ && grouping_.empty()) {
    key->clear();
    return;
  }
  SignatureKey(labels, !without_, grouping_, key);
}

LabelsRef Aggregator::GroupLabels(const core::Labels& metric) {
  if (!without_ && grouping_.empty()) return pool_.Empty();
  core::Labels out;
  for (const core::Label& l : metric) {
    bool listed =
        std::binary_search(grouping_.begin(), grouping_.end(), l.name);
    bool keep = without_ ? !listed && l.name != core::kMetricNameLabel : listed;
    if (keep) out.push_back(l);
  }
  return pool_.Intern(std::move(out));
}

absl::Status Aggregator::Apply(const EvalVector& in,
                               const std::vector<const std::string*>& keys,
                               double param, const std::string& label,
                               EvalVector& out) {
  int64_t k = 0;
  if (op_ == AggregateOp::kTopk || op_ == AggregateOp::kBottomk) {
    if (!(param <= 9223372036854775807.0 && param >= -9223372036854775808.0)) {
      return ExecutionError(absl::StrCat("Scalar value ", GoFormatFloat(param),
                                         " overflows int64"));
    }
    k = param >= 9223372036854775807.0 ? std::numeric_limits<int64_t>::max()
                                       : static_cast<int64_t>(param);
    if (k < 1) return absl::OkStatus();
  }
  const EvalVector* input = &in;
  EvalVector relabelled;
  const std::vector<const std::string*>* input_keys = &keys;
  std::vector<const std::string*> value_key_ptrs;
  if (op_ == AggregateOp::kCountValues) {
    if (!core::IsValidLabelName(label)) {
      return ExecutionError(
          absl::StrCat("invalid label name ", GoQuote(label)));
    }
    // The value becomes a label, so groups follow it.
    std::vector<std::string> grouping = grouping_;
    if (!without_) {
      grouping.push_back(label);
      std::sort(grouping.begin(), grouping.end());
    }
    relabelled.reserve(in.size());
    value_keys_.resize(in.size());
    value_key_ptrs.resize(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      core::Labels labels = *in[i].metric;
      auto it =
          std::lower_bound(labels.begin(), labels.end(), label,
                           [](const core::Label& l, const std::string& n) {
                             return l.name < n;
                           });
      std::string value = FormatFloatF(in[i].v);
      if (it != labels.end() && it->name == label) {
        it->value = std::move(value);
      } else {
        labels.insert(it, core::Label{label, std::move(value)});
      }
      LabelsRef ref = pool_.Intern(std::move(labels));
      relabelled.push_back({ref, in[i].v, in[i].t});
      SignatureKey(*ref, !without_, grouping, &value_keys_[i]);
      value_key_ptrs[i] = &value_keys_[i];
    }
    input = &relabelled;
    input_keys = &value_key_ptrs;
  }

  index_.clear();
  groups_.clear();
  for (uint32_t id : touched_) group_of_id_[id] = -1;
  touched_.clear();
  for (std::size_t si = 0; si < input->size(); ++si) {
    const EvalSample& s = (*input)[si];
    const std::string* key = (*input_keys)[si];
    std::size_t group = groups_.size();
    bool inserted;
    if (op_ == AggregateOp::kCountValues) {
      auto [it, fresh] = index_.try_emplace(*key, group);
      group = it->second;
      inserted = fresh;
    } else {
      auto [kit, fresh_key] = key_ids_.try_emplace(key, 0);
      if (fresh_key) {
        auto [tit, fresh_text] = id_of_text_.try_emplace(
            *key, static_cast<uint32_t>(group_of_id_.size()));
        if (fresh_text) group_of_id_.push_back(-1);
        kit->second = tit->second;
      }
      int64_t& slot = group_of_id_[kit->second];
      inserted = slot < 0;
      if (inserted) {
        slot = static_cast<int64_t>(group);
        touched_.push_back(kit->second);
      }
      group = static_cast<std::size_t>(slot);
    }
    if (inserted) {
      Group g{op_ == AggregateOp::kCountValues
                  ? [&] {
                      // Grouping by the label as well when `by`.
                      if (without_) return GroupLabels(*s.metric);
                      std::vector<std::string> saved = grouping_;
                      grouping_.push_back(label);
                      std::sort(grouping_.begin(), grouping_.end());
                      LabelsRef r = GroupLabels(*s.metric);
                      grouping_ = std::move(saved);
                      return r;
                    }()
                  : GroupLabels(*s.metric),
              s.v, s.v, 1, {}};
      switch (op_) {
        case AggregateOp::kStddev:
        case AggregateOp::kStdvar:
          g.value = 0;
          break;
        case AggregateOp::kTopk:
        case AggregateOp::kBottomk:
        case AggregateOp::kQuantile:
          g.heap.push_back({s.metric, s.v, s.t});
          break;
        case AggregateOp::kGroup:
          g.value = 1;
          break;
        default:
          break;
      }
      groups_.push_back(std::move(g));
      continue;
    }
    Group& g = groups_[group];
    switch (op_) {
      case AggregateOp::kSum:
        g.value += s.v;
        break;
      case AggregateOp::kAvg:
        g.count++;
        if (std::isinf(g.mean)) {
          // An infinite mean stays as it is unless a NaN or the opposite
          // infinity comes; subtracting it would make NaN of it.
          if (std::isinf(s.v) && (g.mean > 0) == (s.v > 0)) break;
          if (!std::isinf(s.v) && !std::isnan(s.v)) break;
        }
        g.mean += s.v / static_cast<double>(g.count) -
                  g.mean / static_cast<double>(g.count);
        break;
      case AggregateOp::kGroup:
        break;
      case AggregateOp::kMax:
        if (g.value < s.v || std::isnan(g.value)) g.value = s.v;
        break;
      case AggregateOp::kMin:
        if (g.value > s.v || std::isnan(g.value)) g.value = s.v;
        break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        g.count++;
        break;
      case AggregateOp::kStddev:
      case AggregateOp::kStdvar: {
        g.count++;
        double delta = s.v - g.mean;
        g.mean += delta / static_cast<double>(g.count);
        g.value += delta * (s.v - g.mean);
        break;
      }
      case AggregateOp::kTopk:
        if (static_cast<int64_t>(g.heap.size()) < k || g.heap[0].v < s.v ||
            std::isnan(g.heap[0].v)) {
          if (static_cast<int64_t>(g.heap.size()) == k) {
            if (k == 1) {
              g.heap[0] = {s.metric, s.v, s.t};
              break;
            }
            HeapPop(g.heap, ValueLess);
          }
          HeapPush(g.heap, {s.metric, s.v, s.t}, ValueLess);
        }
        break;
      case AggregateOp::kBottomk:
        if (static_cast<int64_t>(g.heap.size()) < k || g.heap[0].v > s.v ||
            std::isnan(g.heap[0].v)) {
          if (static_cast<int64_t>(g.heap.size()) == k) {
            if (k == 1) {
              g.heap[0] = {s.metric, s.v, s.t};
              break;
            }
            HeapPop(g.heap, ReverseValueLess);
          }
          HeapPush(g.heap, {s.metric, s.v, s.t}, ReverseValueLess);
        }
        break;
      case AggregateOp::kQuantile:
        g.heap.push_back({s.metric, s.v, s.t});
        break;
    }
  }

  for (Group& g : groups_) {
    double v = g.value;
    switch (op_) {
      case AggregateOp::kAvg:
        v = g.mean;
        break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        v = static_cast<double>(g.count);
        break;
      case AggregateOp::kStdvar:
        v = g.value / static_cast<double>(g.count);
        break;
      case AggregateOp::kStddev:
        v = std::sqrt(g.value / static_cast<double>(g.count));
        break;
      case AggregateOp::kTopk:
      case AggregateOp::kBottomk: {
        bool top = op_ == AggregateOp::kTopk;
        // Best first, NaN last.
        std::stable_sort(g.heap.begin(), g.heap.end(),
                         [top](const EvalSample& a, const EvalSample& b) {
                           if (std::isnan(a.v)) return false;
                           if (std::isnan(b.v)) return true;
                           return top ? a.v > b.v : a.v < b.v;
                         });
        for (const EvalSample& s : g.heap) out.push_back(s);
        continue;
      }
      case AggregateOp::kQuantile: {
        std::vector<double> values;
        values.reserve(g.heap.size());
        for (const EvalSample& s : g.heap) values.push_back(s.v);
        v = Quantile(param, values);
        break;
      }
      default:
        break;
    }
    out.push_back({g.labels, v, 0});
  }
  return absl::OkStatus();
}

}  // namespace keel::query_internal
