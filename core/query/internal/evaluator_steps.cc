#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/query/functions.h"
#include "core/query/internal/aggregation.h"
#include "core/query/internal/binary_ops.h"
#include "core/query/internal/evaluator.h"
#include "core/query/internal/instant_functions.h"

namespace keel::query_internal {

absl::StatusOr<EvalMatrix> Evaluator::RangeEval(
    std::span<const Expr* const> exprs, const KeyFn& key, const StepFn& fn) {
  std::vector<EvalMatrix> inputs(exprs.size());
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    if (exprs[i] == nullptr || exprs[i]->Type() == ValueType::kString) {
      continue;
    }
    absl::StatusOr<EvalMatrix> m = EvalToMatrix(*exprs[i]);
    if (!m.ok()) {
      for (const EvalMatrix& done : inputs) ReleaseMatrix(done);
      return m.status();
    }
    inputs[i] = std::move(*m);
  }
  return RangeEvalInputs(std::move(inputs), key, fn);
}

absl::StatusOr<EvalMatrix> Evaluator::RangeEvalInputs(
    std::vector<EvalMatrix> inputs, const KeyFn& key, const StepFn& fn) {
  uint64_t input_points = 0;
  for (const EvalMatrix& m : inputs) input_points += TotalPoints(m);
  // The inputs are given back however this ends.
  struct ReleaseInputs {
    QueryState& q;
    uint64_t n;
    ~ReleaseInputs() { q.Release(n); }
  } release{q_, input_points};

  std::size_t n = inputs.size();
  std::vector<std::vector<std::string>> series_keys(n);
  if (key) {
    for (std::size_t i = 0; i < n; ++i) {
      series_keys[i].resize(inputs[i].size());
      for (std::size_t s = 0; s < inputs[i].size(); ++s) {
        key(*inputs[i][s].metric, &series_keys[i][s]);
      }
    }
  }
  std::vector<std::vector<std::size_t>> cursors(n);
  for (std::size_t i = 0; i < n; ++i) cursors[i].assign(inputs[i].size(), 0);
  std::vector<EvalVector> vectors(n);
  std::vector<std::vector<const std::string*>> keys(n);
  EvalVector out;
  EvalMatrix result;
  absl::flat_hash_map<LabelsRef, std::size_t> result_index;
  absl::flat_hash_set<LabelsRef> seen;
  for (int64_t ts = start_; ts <= end_; ts += interval_) {
    KEEL_QUERY_RETURN_IF_ERROR(Work());
    for (std::size_t i = 0; i < n; ++i) {
      vectors[i].clear();
      keys[i].clear();
      for (std::size_t s = 0; s < inputs[i].size(); ++s) {
        const auto& points = inputs[i][s].points;
        std::size_t& c = cursors[i][s];
        if (c < points.size() && points[c].t == ts) {
          vectors[i].push_back({inputs[i][s].metric, points[c].v, ts});
          if (key) keys[i].push_back(&series_keys[i][s]);
          ++c;
        }
      }
      KEEL_QUERY_RETURN_IF_ERROR(Work(inputs[i].size()));
    }
    out.clear();
    KEEL_QUERY_RETURN_IF_ERROR(fn(vectors, keys, ts, out));
    if (out.size() > 1) {
      seen.clear();
      for (const EvalSample& s : out) {
        if (!seen.insert(s.metric).second) {
          return ExecutionError(kDuplicateLabelset);
        }
      }
    }
    KEEL_QUERY_RETURN_IF_ERROR(q_.Take(out.size()));
    if (start_ == end_) {
      // An instant evaluation keeps the order the step gave.
      for (const EvalSample& s : out) {
        result.push_back({s.metric, {{ts, s.v}}});
      }
      return result;
    }
    for (const EvalSample& s : out) {
      auto [it, inserted] = result_index.try_emplace(s.metric, result.size());
      if (inserted) result.push_back({s.metric, {}});
      result[it->second].points.push_back({ts, s.v});
    }
  }
  return result;
}

absl::StatusOr<EvalMatrix> Evaluator::EvalBinary(const BinaryExpr& b) {
  ValueType lt = b.lhs->Type();
  ValueType rt = b.rhs->Type();
  const Expr* exprs[] = {b.lhs.get(), b.rhs.get()};
  if (lt == ValueType::kScalar && rt == ValueType::kScalar) {
    return RangeEval(
        exprs, nullptr,
        [&](std::span<const EvalVector> v, auto, int64_t ts, EvalVector& out) {
          out.push_back(
              {q_.pool.Empty(), ScalarBinop(b.op, v[0][0].v, v[1][0].v), ts});
          return absl::OkStatus();
        });
  }
  auto matcher = std::make_shared<VectorMatcher>(b, q_.pool);
  if (lt == ValueType::kVector && rt == ValueType::kVector) {
    return RangeEval(
        exprs,
        [matcher](const core::Labels& l, std::string* key) {
          matcher->Signature(l, key);
        },
        [matcher](std::span<const EvalVector> v,
                  std::span<const std::vector<const std::string*>> k, int64_t,
                  EvalVector& out) {
          return matcher->Apply(v[0], v[1], k[0], k[1], out);
        });
  }
  bool swap = lt == ValueType::kScalar;
  return RangeEval(exprs, nullptr,
                   [matcher, swap](std::span<const EvalVector> v, auto, int64_t,
                                   EvalVector& out) {
                     const EvalVector& vec = swap ? v[1] : v[0];
                     double scalar = swap ? v[0][0].v : v[1][0].v;
                     matcher->ApplyScalar(vec, scalar, swap, out);
                     return absl::OkStatus();
                   });
}

absl::StatusOr<EvalMatrix> Evaluator::EvalAggregate(const AggregateExpr& a) {
  auto agg = std::make_shared<Aggregator>(a.op, a.grouping, a.without, q_.pool);
  KeyFn key = [agg](const core::Labels& l, std::string* k) { agg->Key(l, k); };
  if (a.param != nullptr &&
      Unparen(*a.param).kind() == ExprKind::kStringLiteral) {
    std::string label = Unparen(*a.param).As<StringLiteral>().value;
    const Expr* exprs[] = {a.expr.get()};
    return RangeEval(
        exprs, key,
        [agg, label](std::span<const EvalVector> v,
                     std::span<const std::vector<const std::string*>> k,
                     int64_t, EvalVector& out) {
          return agg->Apply(v[0], k[0], 0, label, out);
        });
  }
  const Expr* exprs[] = {a.param.get(), a.expr.get()};
  bool has_param = a.param != nullptr;
  return RangeEval(
      exprs, key,
      [agg, has_param](std::span<const EvalVector> v,
                       std::span<const std::vector<const std::string*>> k,
                       int64_t, EvalVector& out) {
        double param = has_param ? v[0][0].v : 0;
        static const std::string kNoLabel;
        return agg->Apply(v[1], k[1], param, kNoLabel, out);
      });
}

absl::StatusOr<EvalMatrix> Evaluator::EvalCall(const Call& c) {
  std::string_view name = c.func->name;
  if (c.func->native_histogram) {
    return absl::UnimplementedError(
        absl::StrCat("function \"", std::string(name),
                     "\" is not supported: keel stores no native "
                     "histograms"));
  }
  if (name == "timestamp") {
    const Expr& arg = Unparen(*c.args[0]);
    if (arg.kind() == ExprKind::kVectorSelector) {
      // The sample's own time, which a matrix of step points cannot carry.
      absl::StatusOr<EvalMatrix> m =
          EvalVectorSelector(arg.As<VectorSelector>(), true);
      if (!m.ok()) return m.status();
      std::vector<EvalMatrix> inputs;
      inputs.push_back(std::move(*m));
      return RangeEvalInputs(
          std::move(inputs), nullptr,
          [](std::span<const EvalVector> v, auto, int64_t, EvalVector& out) {
            out.insert(out.end(), v[0].begin(), v[0].end());
            return absl::OkStatus();
          });
    }
  }
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    ExprKind kind = Unparen(*c.args[i]).kind();
    if (kind == ExprKind::kMatrixSelector || kind == ExprKind::kSubquery) {
      return EvalRangeCall(c, i);
    }
  }
  auto state = std::make_shared<CallState>(c, q_.pool);
  std::vector<const Expr*> exprs;
  for (const auto& a : c.args) exprs.push_back(a.get());
  return RangeEval(
      exprs, nullptr,
      [state](std::span<const EvalVector> v, auto, int64_t ts,
              EvalVector& out) { return state->Apply(v, ts, out); });
}

}  // namespace keel::query_internal
