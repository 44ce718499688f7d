#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/query/functions.h"
#include "core/query/internal/evaluator.h"
#include "core/query/internal/instant_functions.h"
#include "core/query/internal/range_functions.h"
#include "core/query/internal/selected_series.h"

namespace keel::query_internal {

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
    ReservePoints(start_, series.points);
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
    FitPoints(series.points);
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
