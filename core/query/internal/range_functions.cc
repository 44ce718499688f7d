#include "core/query/internal/range_functions.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/query/internal/go_text.h"

namespace keel::query_internal {
namespace {

using Out = std::optional<double>;

absl::Status ExtrapolatedRate(const WindowArgs& a, bool is_counter,
                              bool is_rate, Out* out) {
  auto p = a.points;
  if (p.size() < 2) return absl::OkStatus();
  double result = p.back().v - p.front().v;
  if (is_counter) {
    // In order, as Prometheus adds them, for the same rounding.
    for (uint32_t i : a.drops) result += p[i - 1].v;
  }
  double to_start = static_cast<double>(p.front().t - a.range_start) / 1000;
  double to_end = static_cast<double>(a.range_end - p.back().t) / 1000;
  double sampled = static_cast<double>(p.back().t - p.front().t) / 1000;
  double avg = sampled / static_cast<double>(p.size() - 1);
  if (is_counter && result > 0 && p.front().v >= 0) {
    // A counter cannot have been below zero: extrapolate no further back
    // than where it would have been zero.
    double to_zero = sampled * (p.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  double threshold = avg * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg / 2;
  interval += to_end < threshold ? to_end : avg / 2;
  double factor = interval / sampled;
  if (is_rate) factor /= static_cast<double>(a.range_ms) / 1000;
  *out = result * factor;
  return absl::OkStatus();
}

absl::Status Rate(const WindowArgs& a, Out* out) {
  return ExtrapolatedRate(a, true, true, out);
}
absl::Status Increase(const WindowArgs& a, Out* out) {
  return ExtrapolatedRate(a, true, false, out);
}
absl::Status Delta(const WindowArgs& a, Out* out) {
  return ExtrapolatedRate(a, false, false, out);
}

absl::Status InstantValue(const WindowArgs& a, bool is_rate, Out* out) {
  auto p = a.points;
  if (p.size() < 2) return absl::OkStatus();
  const EvalPoint& last = p[p.size() - 1];
  const EvalPoint& prev = p[p.size() - 2];
  double result = is_rate && last.v < prev.v ? last.v : last.v - prev.v;
  int64_t interval = last.t - prev.t;
  if (interval == 0) return absl::OkStatus();
  if (is_rate) result /= static_cast<double>(interval) / 1000;
  *out = result;
  return absl::OkStatus();
}

absl::Status Irate(const WindowArgs& a, Out* out) {
  return InstantValue(a, true, out);
}
absl::Status Idelta(const WindowArgs& a, Out* out) {
  return InstantValue(a, false, out);
}

// Kahan-Babuska (Neumaier) summation as functions.go's kahanSumInc.
inline void KahanInc(double inc, double& sum, double& c) {
  double t = sum + inc;
  if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

void LinearRegression(std::span<const EvalPoint> p, int64_t intercept_time,
                      double* slope, double* intercept) {
  double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0,
         sum_x2 = 0, c_x2 = 0;
  double init_y = p[0].v;
  bool const_y = true;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (const_y && i > 0 && p[i].v != init_y) const_y = false;
    n += 1.0;
    double x = static_cast<double>(p[i].t - intercept_time) / 1e3;
    KahanInc(x, sum_x, c_x);
    KahanInc(p[i].v, sum_y, c_y);
    KahanInc(x * p[i].v, sum_xy, c_xy);
    KahanInc(x * x, sum_x2, c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      *slope = *intercept = kNaN;
    } else {
      *slope = 0;
      *intercept = init_y;
    }
    return;
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  double cov_xy = sum_xy - sum_x * sum_y / n;
  double var_x = sum_x2 - sum_x * sum_x / n;
  *slope = cov_xy / var_x;
  *intercept = sum_y / n - *slope * sum_x / n;
}

absl::Status Deriv(const WindowArgs& a, Out* out) {
  if (a.points.size() < 2) return absl::OkStatus();
  double slope, intercept;
  LinearRegression(a.points, a.points[0].t, &slope, &intercept);
  *out = slope;
  return absl::OkStatus();
}

absl::Status PredictLinear(const WindowArgs& a, Out* out) {
  if (a.points.size() < 2) return absl::OkStatus();
  double slope, intercept;
  LinearRegression(a.points, a.ts, &slope, &intercept);
  *out = slope * a.scalars[0] + intercept;
  return absl::OkStatus();
}

absl::Status HoltWinters(const WindowArgs& a, Out* out) {
  double sf = a.scalars[0];
  double tf = a.scalars[1];
  if (sf <= 0 || sf >= 1) {
    return ExecutionError(
        "invalid smoothing factor. Expected: 0 < sf < 1, got: " +
        GoFormatFixed(sf, 6));
  }
  if (tf <= 0 || tf >= 1) {
    return ExecutionError("invalid trend factor. Expected: 0 < tf < 1, got: " +
                          GoFormatFixed(tf, 6));
  }
  auto p = a.points;
  if (p.size() < 2) return absl::OkStatus();
  double s0 = 0, s1 = p[0].v, b = p[1].v - p[0].v;
  for (std::size_t i = 1; i < p.size(); ++i) {
    double x = sf * p[i].v;
    if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;
    double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  *out = s1;
  return absl::OkStatus();
}

absl::Status Resets(const WindowArgs& a, Out* out) {
  *out = static_cast<double>(a.drops.size());
  return absl::OkStatus();
}

absl::Status Changes(const WindowArgs& a, Out* out) {
  int changes = 0;
  double prev = a.points[0].v;
  for (std::size_t i = 1; i < a.points.size(); ++i) {
    double cur = a.points[i].v;
    if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++changes;
    prev = cur;
  }
  *out = changes;
  return absl::OkStatus();
}

// avg_over_time's running mean, one sample at a time.
struct Mean {
  double mean = 0, count = 0, c = 0;

  void Add(double v) {
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(v) && (mean > 0) == (v > 0)) return;
      if (!std::isinf(v) && !std::isnan(v)) return;
    }
    KahanInc(v / count - mean / count, mean, c);
  }
  double Value() const { return std::isinf(mean) ? mean : mean + c; }
};

absl::Status AvgOverTime(const WindowArgs& a, Out* out) {
  Mean m;
  for (const EvalPoint& p : a.points) m.Add(p.v);
  *out = m.Value();
  return absl::OkStatus();
}

void AvgOverTimeBatch(std::span<const std::span<const EvalPoint>> windows,
                      double* out) {
  Mean m[kWindowBatch];
  std::size_t longest = 0;
  for (const auto& w : windows) longest = std::max(longest, w.size());
  for (std::size_t i = 0; i < longest; ++i) {
    for (std::size_t k = 0; k < windows.size(); ++k) {
      if (i < windows[k].size()) m[k].Add(windows[k][i].v);
    }
  }
  for (std::size_t k = 0; k < windows.size(); ++k) out[k] = m[k].Value();
}

absl::Status CountOverTime(const WindowArgs& a, Out* out) {
  *out = static_cast<double>(a.points.size());
  return absl::OkStatus();
}

absl::Status LastOverTime(const WindowArgs& a, Out* out) {
  *out = a.points.back().v;
  return absl::OkStatus();
}

absl::Status MaxOverTime(const WindowArgs& a, Out* out) {
  double m = a.points[0].v;
  for (const EvalPoint& p : a.points) {
    if (p.v > m || std::isnan(m)) m = p.v;
  }
  *out = m;
  return absl::OkStatus();
}

absl::Status MinOverTime(const WindowArgs& a, Out* out) {
  double m = a.points[0].v;
  for (const EvalPoint& p : a.points) {
    if (p.v < m || std::isnan(m)) m = p.v;
  }
  *out = m;
  return absl::OkStatus();
}

absl::Status SumOverTime(const WindowArgs& a, Out* out) {
  double sum = 0, c = 0;
  for (const EvalPoint& p : a.points) KahanInc(p.v, sum, c);
  *out = std::isinf(sum) ? sum : sum + c;
  return absl::OkStatus();
}

absl::Status QuantileOverTime(const WindowArgs& a, Out* out) {
  std::vector<double> values;
  values.reserve(a.points.size());
  for (const EvalPoint& p : a.points) values.push_back(p.v);
  *out = Quantile(a.scalars[0], values);
  return absl::OkStatus();
}

double VarianceOverTime(std::span<const EvalPoint> points) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const EvalPoint& p : points) {
    count++;
    double delta = p.v - (mean + c_mean);
    KahanInc(delta / count, mean, c_mean);
    KahanInc(delta * (p.v - (mean + c_mean)), aux, c_aux);
  }
  return (aux + c_aux) / count;
}

absl::Status StddevOverTime(const WindowArgs& a, Out* out) {
  *out = std::sqrt(VarianceOverTime(a.points));
  return absl::OkStatus();
}

absl::Status StdvarOverTime(const WindowArgs& a, Out* out) {
  *out = VarianceOverTime(a.points);
  return absl::OkStatus();
}

absl::Status One(const WindowArgs&, Out* out) {
  *out = 1;
  return absl::OkStatus();
}

struct Entry {
  std::string_view name;
  WindowFunction fn;
};

constexpr Entry kWindowFunctions[] = {
    {"absent_over_time", One},
    {"avg_over_time", AvgOverTime},
    {"changes", Changes},
    {"count_over_time", CountOverTime},
    {"delta", Delta},
    {"deriv", Deriv},
    {"holt_winters", HoltWinters},
    {"idelta", Idelta},
    {"increase", Increase},
    {"irate", Irate},
    {"last_over_time", LastOverTime},
    {"max_over_time", MaxOverTime},
    {"min_over_time", MinOverTime},
    {"predict_linear", PredictLinear},
    {"present_over_time", One},
    {"quantile_over_time", QuantileOverTime},
    {"rate", Rate},
    {"resets", Resets},
    {"stddev_over_time", StddevOverTime},
    {"stdvar_over_time", StdvarOverTime},
    {"sum_over_time", SumOverTime},
};

}  // namespace

WindowFunction FindWindowFunction(std::string_view name) {
  for (const Entry& e : kWindowFunctions) {
    if (e.name == name) return e.fn;
  }
  return nullptr;
}

WindowBatchFunction FindWindowBatchFunction(std::string_view name) {
  return name == "avg_over_time" ? AvgOverTimeBatch : nullptr;
}

double Quantile(double q, std::span<double> values) {
  if (values.empty() || std::isnan(q)) {
    return kNaN;
  }
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  // NaN sorts first, as Prometheus' vectorByValueHeap orders it.
  std::sort(values.begin(), values.end(), [](double x, double y) {
    if (std::isnan(x)) return !std::isnan(y);
    if (std::isnan(y)) return false;
    return x < y;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<std::size_t>(lower)] * (1 - weight) +
         values[static_cast<std::size_t>(upper)] * weight;
}

}  // namespace keel::query_internal
