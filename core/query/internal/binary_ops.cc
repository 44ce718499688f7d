#include "core/query/internal/binary_ops.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"

namespace keel::query_internal {

namespace {

// The result of a comparison operator, or nullopt when `op` is none.
std::optional<bool> Compare(BinaryOp op, double lhs, double rhs) {
  switch (op) {
    case BinaryOp::kEqlc:
      return lhs == rhs;
    case BinaryOp::kNeq:
      return lhs != rhs;
    case BinaryOp::kGtr:
      return lhs > rhs;
    case BinaryOp::kLss:
      return lhs < rhs;
    case BinaryOp::kGte:
      return lhs >= rhs;
    case BinaryOp::kLte:
      return lhs <= rhs;
    default:
      return std::nullopt;
  }
}

}  // namespace

double ScalarBinop(BinaryOp op, double lhs, double rhs) {
  if (std::optional<bool> holds = Compare(op, lhs, rhs)) return *holds;
  switch (op) {
    case BinaryOp::kAdd:
      return lhs + rhs;
    case BinaryOp::kSub:
      return lhs - rhs;
    case BinaryOp::kMul:
      return lhs * rhs;
    case BinaryOp::kDiv:
      return lhs / rhs;
    case BinaryOp::kPow:
      return std::pow(lhs, rhs);
    case BinaryOp::kMod:
      return std::fmod(lhs, rhs);
    case BinaryOp::kAtan2:
      return std::atan2(lhs, rhs);
    default:
      return 0;  // the parser allows no set operator between scalars
  }
}

bool VectorElemBinop(BinaryOp op, double lhs, double rhs, double* value) {
  if (std::optional<bool> holds = Compare(op, lhs, rhs)) {
    *value = lhs;
    return *holds;
  }
  *value = ScalarBinop(op, lhs, rhs);
  return true;
}

bool DropsMetricName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kPow:
    case BinaryOp::kMod:
      return true;
    default:
      return false;
  }
}

VectorMatcher::VectorMatcher(const BinaryExpr& expr, LabelPool& pool)
    : expr_(expr),
      matching_(expr.matching ? &*expr.matching : nullptr),
      pool_(pool) {
  if (matching_ != nullptr) {
    names_ = matching_->matching_labels;
    std::sort(names_.begin(), names_.end());
  }
}

void VectorMatcher::Signature(const core::Labels& labels,
                              std::string* key) const {
  SignatureKey(labels, matching_->on, names_, key);
}

LabelsRef VectorMatcher::DropName(LabelsRef labels) {
  auto [it, inserted] = dropped_.try_emplace(labels, nullptr);
  if (inserted) it->second = pool_.Intern(WithoutMetricName(*labels));
  return it->second;
}

LabelsRef VectorMatcher::ResultMetric(LabelsRef lhs, LabelsRef rhs) {
  auto [it, inserted] = results_.try_emplace({lhs, rhs}, nullptr);
  if (!inserted) return it->second;
  core::Labels out;
  bool one_to_one = matching_->card == Cardinality::kOneToOne;
  for (const core::Label& l : *lhs) {
    if (DropsMetricName(expr_.op) && l.name == core::kMetricNameLabel) {
      continue;
    }
    if (one_to_one) {
      bool listed = std::binary_search(names_.begin(), names_.end(), l.name);
      if (listed != matching_->on) continue;
    }
    out.push_back(l);
  }
  // group_x(...) labels come from the "one" side.
  for (const std::string& name : matching_->include) {
    std::string_view v = GetLabel(*rhs, name);
    auto pos = std::lower_bound(
        out.begin(), out.end(), name,
        [](const core::Label& l, const std::string& n) { return l.name < n; });
    bool present = pos != out.end() && pos->name == name;
    if (!v.empty()) {
      if (present) {
        pos->value = std::string(v);
      } else {
        out.insert(pos, core::Label{name, std::string(v)});
      }
    } else if (present) {
      out.erase(pos);
    }
  }
  it->second = pool_.Intern(std::move(out));
  return it->second;
}

std::optional<double> VectorMatcher::Combine(double lhs, double rhs,
                                             bool rhs_is_vector) const {
  double value;
  bool keep = VectorElemBinop(expr_.op, lhs, rhs, &value);
  // A comparison keeps the vector's value whichever side it is on.
  if (rhs_is_vector && IsComparisonOp(expr_.op)) value = rhs;
  if (expr_.return_bool) return keep ? 1.0 : 0.0;
  if (!keep) return std::nullopt;
  return value;
}

std::string VectorMatcher::DescribeGroup(const core::Labels& labels) const {
  core::Labels group;
  for (const core::Label& l : labels) {
    if (InSignature(l.name, matching_->on, names_)) group.push_back(l);
  }
  return core::LabelsToString(group);
}

absl::Status VectorMatcher::Apply(
    const EvalVector& lhs_in, const EvalVector& rhs_in,
    const std::vector<const std::string*>& lsig_in,
    const std::vector<const std::string*>& rsig_in, EvalVector& out) {
  BinaryOp op = expr_.op;
  Cardinality card = matching_->card;
  if (op == BinaryOp::kAnd || op == BinaryOp::kUnless) {
    if (op == BinaryOp::kAnd && (lhs_in.empty() || rhs_in.empty())) {
      return absl::OkStatus();
    }
    if (op == BinaryOp::kUnless && (lhs_in.empty() || rhs_in.empty())) {
      out.insert(out.end(), lhs_in.begin(), lhs_in.end());
      return absl::OkStatus();
    }
    absl::flat_hash_set<std::string_view> right;
    for (const std::string* s : rsig_in) right.insert(*s);
    for (std::size_t i = 0; i < lhs_in.size(); ++i) {
      if (right.contains(*lsig_in[i]) == (op == BinaryOp::kAnd)) {
        out.push_back(lhs_in[i]);
      }
    }
    return absl::OkStatus();
  }
  if (op == BinaryOp::kOr) {
    if (lhs_in.empty() || rhs_in.empty()) {
      out.insert(out.end(), lhs_in.begin(), lhs_in.end());
      out.insert(out.end(), rhs_in.begin(), rhs_in.end());
      return absl::OkStatus();
    }
    absl::flat_hash_set<std::string_view> left;
    for (std::size_t i = 0; i < lhs_in.size(); ++i) {
      left.insert(*lsig_in[i]);
      out.push_back(lhs_in[i]);
    }
    for (std::size_t j = 0; j < rhs_in.size(); ++j) {
      if (!left.contains(*rsig_in[j])) out.push_back(rhs_in[j]);
    }
    return absl::OkStatus();
  }

  if (lhs_in.empty() || rhs_in.empty()) return absl::OkStatus();
  // One-to-many is many-to-one with the sides swapped.
  bool swapped = card == Cardinality::kOneToMany;
  const EvalVector& lhs = swapped ? rhs_in : lhs_in;
  const EvalVector& rhs = swapped ? lhs_in : rhs_in;
  const auto& lsig = swapped ? rsig_in : lsig_in;
  const auto& rsig = swapped ? lsig_in : rsig_in;

  absl::flat_hash_map<std::string_view, std::size_t> right;
  right.reserve(rhs.size());
  for (std::size_t i = 0; i < rhs.size(); ++i) {
    auto [it, inserted] = right.try_emplace(*rsig[i], i);
    if (!inserted) {
      return ExecutionError(absl::StrCat(
          "found duplicate series for the match group ",
          DescribeGroup(*rhs[i].metric), " on the ", swapped ? "left" : "right",
          " hand-side of the operation: [",
          core::LabelsToString(*rhs[i].metric), ", ",
          core::LabelsToString(*rhs[it->second].metric),
          "];many-to-many matching not allowed: matching labels must be "
          "unique on one side"));
    }
  }
  absl::flat_hash_map<std::string_view, absl::flat_hash_set<LabelsRef>> matched;
  for (std::size_t i = 0; i < lhs.size(); ++i) {
    auto found = right.find(*lsig[i]);
    if (found == right.end()) continue;
    const EvalSample& rs = rhs[found->second];
    std::optional<double> value = swapped ? Combine(rs.v, lhs[i].v, false)
                                          : Combine(lhs[i].v, rs.v, false);
    if (!value) continue;
    LabelsRef metric = ResultMetric(lhs[i].metric, rs.metric);
    if (expr_.return_bool) metric = DropName(metric);
    auto [m, first] = matched.try_emplace(*lsig[i]);
    if (card == Cardinality::kOneToOne) {
      if (!first) {
        return ExecutionError(
            "multiple matches for labels: many-to-one matching must be "
            "explicit (group_left/group_right)");
      }
    } else if (!m->second.insert(metric).second) {
      return ExecutionError(
          "multiple matches for labels: grouping labels must ensure unique "
          "matches");
    }
    out.push_back({metric, *value, 0});
  }
  return absl::OkStatus();
}

void VectorMatcher::ApplyScalar(const EvalVector& vec, double scalar, bool swap,
                                EvalVector& out) {
  for (const EvalSample& s : vec) {
    std::optional<double> value =
        swap ? Combine(scalar, s.v, true) : Combine(s.v, scalar, false);
    if (!value) continue;
    LabelsRef metric = s.metric;
    if (DropsMetricName(expr_.op) || expr_.return_bool) {
      metric = DropName(metric);
    }
    out.push_back({metric, *value, s.t});
  }
}

}  // namespace keel::query_internal
