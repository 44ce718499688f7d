#include "core/query/internal/evaluator.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/query/functions.h"
#include "core/query/internal/aggregation.h"
#include "core/query/internal/binary_ops.h"
#include "core/query/internal/instant_functions.h"
#include "core/query/internal/range_functions.h"

namespace keel::query_internal {
namespace {

using query::AggregateExpr;
using query::AtModifier;
using query::SubqueryExpr;
using query::TimeModifiers;
using query::UnaryExpr;
using query::ValueType;

// Prometheus' stale marker: a NaN with this exact bit pattern.
constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;
bool IsStale(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

constexpr std::string_view kDuplicateLabelset =
    "vector cannot contain metrics with the same labelset";

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind() == ExprKind::kParen) p = p->As<ParenExpr>().expr.get();
  return *p;
}

// The functions whose value depends on the step even when their arguments
// do not (AtModifierUnsafeFunctions).
bool AtUnsafe(std::string_view name) {
  static constexpr std::string_view kUnsafe[] = {
      "days_in_month",  "day_of_month", "day_of_week", "day_of_year",
      "hour",           "minute",       "month",       "year",
      "predict_linear", "time",         "timestamp"};
  return std::find(std::begin(kUnsafe), std::end(kUnsafe), name) !=
         std::end(kUnsafe);
}

uint64_t TotalPoints(const EvalMatrix& m) {
  uint64_t n = 0;
  for (const EvalSeries& s : m) n += s.points.size();
  return n;
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

}  // namespace

bool HasDuplicateLabels(const EvalMatrix& m) {
  if (m.size() < 2) return false;
  absl::flat_hash_set<LabelsRef> seen;
  seen.reserve(m.size());
  for (const EvalSeries& s : m) {
    if (!seen.insert(s.metric).second) return true;
  }
  return false;
}

QueryState::QueryState(const core::SeriesStore& store, core::QueryContext& ctx,
                       int64_t start, int64_t end, int64_t lookback_ms,
                       int64_t default_subquery_step_ms)
    : store(store),
      ctx(ctx),
      query_start(start),
      query_end(end),
      lookback_ms(lookback_ms),
      default_subquery_step_ms(default_subquery_step_ms) {}

absl::Status QueryState::Take(uint64_t samples) {
  held += samples;
  if (!ctx.AddSamples(samples)) return ctx.status();
  return absl::OkStatus();
}

void QueryState::Release(uint64_t samples) {
  samples = std::min(samples, held);
  held -= samples;
  ctx.ReleaseSamples(samples);
}

namespace {

// preprocessExprHelper: whether `e` is step invariant; marks the invariant
// children of a node that is not.
bool MarkInvariant(const Expr& e, absl::flat_hash_set<const Expr*>& marks) {
  switch (e.kind()) {
    case ExprKind::kVectorSelector:
      return e.As<VectorSelector>().time.at != AtModifier::kNone;
    case ExprKind::kAggregate:
      return MarkInvariant(*e.As<AggregateExpr>().expr, marks);
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      bool l = MarkInvariant(*b.lhs, marks);
      bool r = MarkInvariant(*b.rhs, marks);
      if (l && r) return true;
      if (l) marks.insert(b.lhs.get());
      if (r) marks.insert(b.rhs.get());
      return false;
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      bool all = !AtUnsafe(c.func->name);
      std::vector<bool> args;
      for (const auto& a : c.args) {
        args.push_back(MarkInvariant(*a, marks));
        all = all && args.back();
      }
      if (all) return true;
      for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i]) marks.insert(c.args[i].get());
      }
      return false;
    }
    case ExprKind::kMatrixSelector:
      return MarkInvariant(*e.As<MatrixSelector>().selector, marks);
    case ExprKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      // The inside is evaluated once per subquery when it can be, whether
      // or not the subquery itself is invariant.
      if (MarkInvariant(*s.expr, marks)) marks.insert(s.expr.get());
      return s.time.at != AtModifier::kNone;
    }
    case ExprKind::kParen:
      return MarkInvariant(*e.As<ParenExpr>().expr, marks);
    case ExprKind::kUnary:
      return MarkInvariant(*e.As<UnaryExpr>().expr, marks);
    case ExprKind::kNumberLiteral:
    case ExprKind::kStringLiteral:
      return true;
  }
  return false;
}

}  // namespace

void QueryState::Preprocess(const Expr& root) {
  if (MarkInvariant(root, invariant)) invariant.insert(&root);
}

Evaluator::Evaluator(QueryState& q, int64_t start, int64_t end,
                     int64_t interval)
    : q_(q), start_(start), end_(end), interval_(interval) {}

absl::Status Evaluator::Work(uint64_t units) {
  if (!q_.ctx.Work(units)) return q_.ctx.status();
  return absl::OkStatus();
}

void Evaluator::ReleaseMatrix(const EvalMatrix& m) {
  q_.Release(TotalPoints(m));
}

int64_t Evaluator::EffectiveOffset(const TimeModifiers& time) const {
  switch (time.at) {
    case AtModifier::kNone:
      return time.offset_ms;
    case AtModifier::kTimestamp:
      return time.offset_ms + (start_ - time.at_ms);
    case AtModifier::kStart:
      return time.offset_ms + (start_ - q_.query_start);
    case AtModifier::kEnd:
      return time.offset_ms + (start_ - q_.query_end);
  }
  return time.offset_ms;
}

absl::StatusOr<EvalResult> Evaluator::Eval(const Expr& e) {
  KEEL_QUERY_RETURN_IF_ERROR(Work());
  if (q_.invariant.contains(&e)) return EvalInvariant(e);
  return EvalNode(e);
}

absl::StatusOr<EvalMatrix> Evaluator::EvalToMatrix(const Expr& e) {
  absl::StatusOr<EvalResult> r = Eval(e);
  if (!r.ok()) return r.status();
  return std::move(std::get<EvalMatrix>(*r));
}

absl::StatusOr<EvalResult> Evaluator::EvalInvariant(const Expr& e) {
  const Expr& inner = Unparen(e);
  if (inner.kind() == ExprKind::kNumberLiteral ||
      inner.kind() == ExprKind::kStringLiteral) {
    return EvalNode(inner);
  }
  Evaluator once(q_, start_, start_, interval_);
  absl::StatusOr<EvalResult> r = once.EvalNode(e);
  if (!r.ok() || e.type() == ValueType::kMatrix ||
      std::holds_alternative<std::string>(*r)) {
    return r;
  }
  // The same value at every step.
  EvalMatrix& m = std::get<EvalMatrix>(*r);
  uint64_t steps = static_cast<uint64_t>((end_ - start_) / interval_);
  for (EvalSeries& s : m) {
    KEEL_QUERY_RETURN_IF_ERROR(q_.Take(steps));
    KEEL_QUERY_RETURN_IF_ERROR(Work(steps));
    s.points.reserve(steps + 1);
    double v = s.points[0].v;
    for (int64_t ts = start_ + interval_; ts <= end_; ts += interval_) {
      s.points.push_back({ts, v});
    }
  }
  return r;
}

absl::StatusOr<EvalResult> Evaluator::EvalNode(const Expr& e) {
  switch (e.kind()) {
    case ExprKind::kNumberLiteral: {
      EvalMatrix m(1);
      m[0].metric = q_.pool.Empty();
      uint64_t steps = static_cast<uint64_t>((end_ - start_) / interval_) + 1;
      KEEL_QUERY_RETURN_IF_ERROR(q_.Take(steps));
      KEEL_QUERY_RETURN_IF_ERROR(Work(steps));
      m[0].points.reserve(steps);
      double v = e.As<query::NumberLiteral>().value;
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        m[0].points.push_back({ts, v});
      }
      return m;
    }
    case ExprKind::kStringLiteral:
      return e.As<StringLiteral>().value;
    case ExprKind::kParen:
      return Eval(*e.As<ParenExpr>().expr);
    case ExprKind::kVectorSelector:
      return EvalVectorSelector(e.As<VectorSelector>(), false);
    case ExprKind::kMatrixSelector:
      return EvalMatrixSelector(e.As<MatrixSelector>());
    case ExprKind::kSubquery:
      return EvalSubquery(e.As<SubqueryExpr>());
    case ExprKind::kUnary:
      return EvalUnary(e.As<UnaryExpr>());
    case ExprKind::kBinary:
      return EvalBinary(e.As<BinaryExpr>());
    case ExprKind::kAggregate:
      return EvalAggregate(e.As<AggregateExpr>());
    case ExprKind::kCall:
      return EvalCall(e.As<Call>());
  }
  return absl::InternalError("unknown expression");
}

absl::StatusOr<core::SeriesSet> Evaluator::Select(const VectorSelector& vs,
                                                  int64_t mint, int64_t maxt) {
  return q_.store.Select(vs.matchers, mint, maxt, q_.ctx);
}

namespace {

// The selected series in label order, as Prometheus' storage returns them.
// Each label set is flattened once into one string, names and values each
// followed by a NUL, so that a comparison is one memcmp over contiguous
// bytes rather than a walk over labels' strings: the same order as
// CompareLabels, since a string ending sorts before any byte but NUL. A
// label holding a NUL would break that; then the sort compares labels.
std::vector<std::size_t> SortedEntries(const core::SeriesSet& set) {
  auto entries = set.series();
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (order.size() < 2) return order;
  std::vector<std::string> keys(entries.size());
  bool flat = true;
  for (std::size_t i = 0; i < entries.size() && flat; ++i) {
    std::string& key = keys[i];
    for (const core::Label& l : entries[i].labels) {
      if (l.name.find('\0') != std::string::npos ||
          l.value.find('\0') != std::string::npos) {
        flat = false;
        break;
      }
      key.append(l.name).push_back('\0');
      key.append(l.value).push_back('\0');
    }
  }
  if (flat) {
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  } else {
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return CompareLabels(entries[a].labels, entries[b].labels) < 0;
    });
  }
  return order;
}

}  // namespace

absl::StatusOr<EvalMatrix> Evaluator::EvalVectorSelector(
    const VectorSelector& vs, bool timestamps) {
  // timestamp(x @ t) reads the sample at t itself, ignoring `offset`, as
  // Prometheus' special case for timestamp() does.
  bool fixed = timestamps && vs.time.at != AtModifier::kNone;
  int64_t fixed_ref = 0;
  int64_t offset = EffectiveOffset(vs.time);
  if (fixed) {
    fixed_ref = vs.time.at == AtModifier::kTimestamp ? vs.time.at_ms
                : vs.time.at == AtModifier::kStart   ? q_.query_start
                                                     : q_.query_end;
  }
  int64_t mint =
      fixed ? fixed_ref - q_.lookback_ms : start_ - offset - q_.lookback_ms;
  int64_t maxt = fixed ? fixed_ref : end_ - offset;
  absl::StatusOr<core::SeriesSet> set = Select(vs, mint, maxt);
  if (!set.ok()) return set.status();
  EvalMatrix out;
  auto entries = set->series();
  for (std::size_t index : SortedEntries(*set)) {
    const auto& entry = entries[index];
    PointCursor cursor(*set, entry);
    EvalSeries series{q_.pool.Intern(entry.labels), {}};
    if (timestamps)
      series.metric = q_.pool.Intern(WithoutMetricName(entry.labels));
    EvalPoint next;
    bool has_next = cursor.Next(&next);
    EvalPoint last{0, 0};
    bool has_last = false;
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      int64_t ref = fixed ? fixed_ref : ts - offset;
      while (has_next && next.t <= ref) {
        last = next;
        has_last = true;
        has_next = cursor.Next(&next);
        KEEL_QUERY_RETURN_IF_ERROR(Work());
      }
      if (!has_last || last.t < ref - q_.lookback_ms || IsStale(last.v)) {
        continue;
      }
      KEEL_QUERY_RETURN_IF_ERROR(q_.Take(1));
      series.points.push_back(
          {ts, timestamps ? static_cast<double>(last.t) / 1000 : last.v});
    }
    KEEL_QUERY_RETURN_IF_ERROR(Work());
    if (!series.points.empty()) out.push_back(std::move(series));
  }
  return out;
}

absl::StatusOr<EvalMatrix> Evaluator::EvalMatrixSelector(
    const MatrixSelector& ms) {
  if (start_ != end_) {
    return absl::InternalError("cannot do range evaluation of matrix selector");
  }
  int64_t maxt = start_ - EffectiveOffset(ms.selector->time);
  int64_t mint = maxt - ms.range_ms;
  absl::StatusOr<core::SeriesSet> set = Select(*ms.selector, mint, maxt);
  if (!set.ok()) return set.status();
  EvalMatrix out;
  auto entries = set->series();
  for (std::size_t index : SortedEntries(*set)) {
    PointCursor cursor(*set, entries[index]);
    EvalSeries series{q_.pool.Intern(entries[index].labels), {}};
    EvalPoint p;
    while (cursor.Next(&p)) {
      KEEL_QUERY_RETURN_IF_ERROR(Work());
      if (p.t < mint || p.t > maxt || IsStale(p.v)) continue;
      KEEL_QUERY_RETURN_IF_ERROR(q_.Take(1));
      series.points.push_back(p);
    }
    if (!series.points.empty()) out.push_back(std::move(series));
  }
  return out;
}

absl::StatusOr<EvalMatrix> Evaluator::EvalSubquery(const SubqueryExpr& sq) {
  int64_t offset = EffectiveOffset(sq.time);
  int64_t step = sq.step_ms != 0 ? sq.step_ms : q_.default_subquery_step_ms;
  int64_t first = start_ - offset - sq.range_ms;
  // The first multiple of the step at or after `first` (Go's division
  // truncates toward zero, and so does C++'s).
  int64_t start = step * (first / step);
  if (start < first) start += step;
  Evaluator inner(q_, start, end_ - offset, step);
  if (start > end_ - offset) return EvalMatrix{};
  return inner.EvalToMatrix(*sq.expr);
}

absl::StatusOr<EvalMatrix> Evaluator::EvalUnary(const UnaryExpr& u) {
  absl::StatusOr<EvalMatrix> m = EvalToMatrix(*u.expr);
  if (!m.ok() || !u.negate) return m;
  for (EvalSeries& s : *m) {
    s.metric = q_.pool.Intern(WithoutMetricName(*s.metric));
    for (EvalPoint& p : s.points) p.v = -p.v;
  }
  if (HasDuplicateLabels(*m)) return ExecutionError(kDuplicateLabelset);
  return m;
}

absl::StatusOr<EvalMatrix> Evaluator::RangeEval(
    std::span<const Expr* const> exprs, const KeyFn& key, const StepFn& fn) {
  std::vector<EvalMatrix> inputs(exprs.size());
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    if (exprs[i] == nullptr || exprs[i]->type() == ValueType::kString) {
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
  ValueType lt = b.lhs->type();
  ValueType rt = b.rhs->type();
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

absl::StatusOr<EvalMatrix> Evaluator::EvalRangeCall(const Call& c,
                                                    std::size_t index) {
  std::string_view name = c.func->name;
  WindowFunction fn = FindWindowFunction(name);
  if (fn == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("function \"", std::string(name), "\" is not supported"));
  }
  // The scalar arguments, one point per step.
  std::vector<EvalMatrix> scalars;
  struct ReleaseAll {
    Evaluator* ev;
    std::vector<EvalMatrix>* m;
    ~ReleaseAll() {
      for (const EvalMatrix& x : *m) ev->ReleaseMatrix(x);
    }
  } release_scalars{this, &scalars};
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    if (i == index) continue;
    absl::StatusOr<EvalMatrix> m = EvalToMatrix(*c.args[i]);
    if (!m.ok()) return m.status();
    scalars.push_back(std::move(*m));
  }

  const Expr& arg = Unparen(*c.args[index]);
  const VectorSelector* vs = nullptr;
  int64_t range_ms, offset;
  std::optional<core::SeriesSet> set;
  EvalMatrix sub;
  struct ReleaseSub {
    Evaluator* ev;
    EvalMatrix* m;
    ~ReleaseSub() { ev->ReleaseMatrix(*m); }
  } release_sub{this, &sub};
  if (arg.kind() == ExprKind::kMatrixSelector) {
    const auto& ms = arg.As<MatrixSelector>();
    vs = ms.selector.get();
    range_ms = ms.range_ms;
    offset = EffectiveOffset(vs->time);
    absl::StatusOr<core::SeriesSet> s =
        Select(*vs, start_ - offset - range_ms, end_ - offset);
    if (!s.ok()) return s.status();
    set.emplace(std::move(*s));
  } else {
    const auto& sq = arg.As<SubqueryExpr>();
    range_ms = sq.range_ms;
    offset = EffectiveOffset(sq.time);
    absl::StatusOr<EvalResult> r = EvalNode(sq);
    if (!r.ok()) return r.status();
    sub = std::move(std::get<EvalMatrix>(*r));
  }

  std::vector<std::size_t> order;
  if (set) {
    order = SortedEntries(*set);
  } else {
    order.resize(sub.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  }
  EvalMatrix out;
  std::vector<EvalPoint> window;
  std::size_t head = 0;  // window[head..] is the live window
  // The series' points pushed so far are numbered 0, 1, ...; drop_seq holds
  // the numbers of those below their predecessor (drop_seq[drop_head..]
  // those still of use), and drops a step's as indices into its window.
  uint64_t pushed = 0;
  std::vector<uint64_t> drop_seq;
  std::size_t drop_head = 0;
  std::vector<uint32_t> drops;
  // With a batch form, steps wait in `pending` (their windows as indices
  // into `window`, kept until computed) and are computed kWindowBatch at a
  // time, in step order.
  WindowBatchFunction batch =
      scalars.empty() ? FindWindowBatchFunction(name) : nullptr;
  struct Pending {
    int64_t ts;
    std::size_t begin, end;
  };
  std::vector<Pending> pending;
  auto flush = [&](EvalSeries& series) -> absl::Status {
    std::span<const EvalPoint> spans[kWindowBatch];
    double values[kWindowBatch];
    for (std::size_t k = 0; k < pending.size(); ++k) {
      spans[k] = std::span<const EvalPoint>(window).subspan(
          pending[k].begin, pending[k].end - pending[k].begin);
    }
    batch(std::span<const std::span<const EvalPoint>>(spans, pending.size()),
          values);
    for (std::size_t k = 0; k < pending.size(); ++k) {
      KEEL_QUERY_RETURN_IF_ERROR(q_.Take(1));
      series.points.push_back({pending[k].ts, values[k]});
    }
    pending.clear();
    return absl::OkStatus();
  };
  for (std::size_t index_in_order : order) {
    std::optional<PointCursor> cursor;
    LabelsRef labels;
    if (set) {
      const auto& entry = set->series()[index_in_order];
      cursor.emplace(*set, entry);
      labels = q_.pool.Intern(entry.labels);
    } else {
      cursor.emplace(std::span<const EvalPoint>(sub[index_in_order].points));
      labels = sub[index_in_order].metric;
    }
    // last_over_time acts like an offset and keeps the name.
    EvalSeries series{name == "last_over_time"
                          ? labels
                          : q_.pool.Intern(WithoutMetricName(*labels)),
                      {}};
    q_.Release(window.size() - head);
    window.clear();
    head = 0;
    pushed = 0;
    drop_seq.clear();
    drop_head = 0;
    EvalPoint next;
    double last_pushed = 0;
    bool has_next = cursor->Next(&next);
    std::size_t step = 0;
    for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
      int64_t maxt = ts - offset;
      int64_t mint = maxt - range_ms;
      std::size_t before = head;
      while (head < window.size() && window[head].t < mint) ++head;
      q_.Release(head - before);
      if (head > 0 && head * 2 >= window.size()) {
        if (!pending.empty()) KEEL_QUERY_RETURN_IF_ERROR(flush(series));
        window.erase(window.begin(), window.begin() + head);
        head = 0;
      }
      while (has_next && next.t <= maxt) {
        if (next.t >= mint && !IsStale(next.v)) {
          KEEL_QUERY_RETURN_IF_ERROR(q_.Take(1));
          if (pushed > 0 && next.v < last_pushed) drop_seq.push_back(pushed);
          last_pushed = next.v;
          ++pushed;
          window.push_back(next);
        }
        has_next = cursor->Next(&next);
        KEEL_QUERY_RETURN_IF_ERROR(Work());
      }
      KEEL_QUERY_RETURN_IF_ERROR(Work());
      if (head == window.size()) continue;
      if (batch != nullptr) {
        pending.push_back({ts, head, window.size()});
        if (pending.size() == kWindowBatch) {
          KEEL_QUERY_RETURN_IF_ERROR(flush(series));
        }
        continue;
      }
      // Drops after the window's first point count; earlier ones are done.
      const uint64_t first_seq = pushed - (window.size() - head);
      while (drop_head < drop_seq.size() && drop_seq[drop_head] <= first_seq) {
        ++drop_head;
      }
      if (drop_head > 0 && drop_head * 2 >= drop_seq.size()) {
        drop_seq.erase(drop_seq.begin(), drop_seq.begin() + drop_head);
        drop_head = 0;
      }
      drops.clear();
      for (std::size_t k = drop_head; k < drop_seq.size(); ++k) {
        drops.push_back(static_cast<uint32_t>(drop_seq[k] - first_seq));
      }
      WindowArgs args;
      args.points = std::span<const EvalPoint>(window).subspan(head);
      args.drops = drops;
      args.ts = ts;
      args.range_start = mint;
      args.range_end = maxt;
      args.range_ms = range_ms;
      for (std::size_t j = 0; j < scalars.size() && j < 2; ++j) {
        args.scalars[j] = scalars[j][0].points[step].v;
      }
      std::optional<double> v;
      KEEL_QUERY_RETURN_IF_ERROR(fn(args, &v));
      if (v) {
        KEEL_QUERY_RETURN_IF_ERROR(q_.Take(1));
        series.points.push_back({ts, *v});
      }
    }
    if (!pending.empty()) KEEL_QUERY_RETURN_IF_ERROR(flush(series));
    if (!series.points.empty()) out.push_back(std::move(series));
  }
  q_.Release(window.size() - head);

  if (name == "absent_over_time") {
    // One series, {labels of the equality matchers}, at the steps where no
    // series had a sample.
    uint64_t steps = static_cast<uint64_t>((end_ - start_) / interval_) + 1;
    absl::flat_hash_set<int64_t> found;
    for (const EvalSeries& s : out) {
      if (s.points.size() == steps) {
        ReleaseMatrix(out);
        return EvalMatrix{};
      }
      for (const EvalPoint& p : s.points) found.insert(p.t);
    }
    ReleaseMatrix(out);
    EvalSeries absent{q_.pool.Intern(AbsentLabels(arg)), {}};
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      if (!found.contains(ts)) absent.points.push_back({ts, 1});
    }
    EvalMatrix result;
    if (!absent.points.empty()) {
      KEEL_QUERY_RETURN_IF_ERROR(q_.Take(absent.points.size()));
      result.push_back(std::move(absent));
    }
    return result;
  }
  if (HasDuplicateLabels(out)) return ExecutionError(kDuplicateLabelset);
  return out;
}

}  // namespace keel::query_internal
