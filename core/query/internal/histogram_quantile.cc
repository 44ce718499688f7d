#include "core/query/internal/histogram_quantile.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"

namespace keel::query_internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

double BucketQuantile(double q, std::vector<Bucket>& buckets) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const Bucket& a, const Bucket& b) {
                     return a.upper_bound < b.upper_bound;
                   });
  if (!std::isinf(buckets.back().upper_bound) ||
      buckets.back().upper_bound < 0) {
    return kNaN;
  }
  // Merge buckets with equal bounds (series that differ only in how `le`
  // is written, "1" and "1.0").
  std::size_t n = 0;
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    if (buckets[i].upper_bound == buckets[n].upper_bound) {
      buckets[n].count += buckets[i].count;
    } else {
      buckets[++n] = buckets[i];
    }
  }
  buckets.resize(n + 1);
  // Counts must not fall as bounds rise; a fall comes from scrapes of
  // buckets taken at slightly different times.
  double max = buckets[0].count;
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    if (buckets[i].count > max) {
      max = buckets[i].count;
    } else if (buckets[i].count < max) {
      buckets[i].count = max;
    }
  }
  if (buckets.size() < 2) return kNaN;
  double observations = buckets.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  // sort.Search over all but the +Inf bucket.
  std::size_t b = 0;
  std::size_t hi = buckets.size() - 1;
  while (b < hi) {
    std::size_t mid = b + (hi - b) / 2;
    if (buckets[mid].count >= rank) {
      hi = mid;
    } else {
      b = mid + 1;
    }
  }
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper_bound;
  if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
  double start = 0;
  double end = buckets[b].upper_bound;
  double count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

std::optional<double> ParseGoFloat(std::string_view s) {
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  std::string lower =
      absl::AsciiStrToLower(absl::string_view(body.data(), body.size()));
  if (lower == "inf" || lower == "infinity") return negative ? -kInf : kInf;
  if (lower == "nan") return kNaN;
  if (body.empty() || !(absl::ascii_isdigit(body[0]) || body[0] == '.')) {
    return std::nullopt;
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v,
                                   std::chars_format::general);
  if (ec != std::errc() || ptr != body.data() + body.size()) {
    return std::nullopt;
  }
  return negative ? -v : v;
}

void HistogramQuantiler::Apply(double q, const EvalVector& in, LabelPool& pool,
                               EvalVector& out) {
  ++step_;
  order_.clear();
  for (const EvalSample& s : in) {
    auto [found, fresh] = series_.try_emplace(s.metric);
    Series& series = found->second;
    if (fresh) {
      series.upper = ParseGoFloat(GetLabel(*s.metric, "le"));
      if (series.upper) {
        // Grouped by every label but `le` (the metric name included), yet
        // named without the metric name.
        key_.clear();
        for (const core::Label& l : *s.metric) {
          if (l.name == "le") continue;
          key_.append(l.name).push_back('\xff');
          key_.append(l.value).push_back('\xff');
        }
        auto [it, inserted] = index_.try_emplace(key_, groups_.size());
        if (inserted) {
          core::Labels labels;
          for (const core::Label& l : *s.metric) {
            if (l.name != "le" && l.name != core::kMetricNameLabel) {
              labels.push_back(l);
            }
          }
          groups_.push_back({pool.Intern(std::move(labels)), {}, 0});
        }
        series.group = it->second;
      }
    }
    if (!series.upper) continue;
    Group& g = groups_[series.group];
    if (g.step != step_) {
      g.step = step_;
      g.buckets.clear();
      order_.push_back(series.group);
    }
    g.buckets.push_back({*series.upper, s.v});
  }
  for (std::size_t id : order_) {
    Group& g = groups_[id];
    out.push_back({g.metric, BucketQuantile(q, g.buckets), 0});
  }
}

}  // namespace keel::query_internal
