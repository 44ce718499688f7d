// keel churn's workload: series values and labels, and their turnover.
// Header-only, for tools/churn_command.cc.
#ifndef KEEL_TOOLS_CHURN_WORKLOAD_H_
#define KEEL_TOOLS_CHURN_WORKLOAD_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/series/labels.h"

namespace keel::tools::churn {

// xorshift64*: fast and good enough for workload noise.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1p-53; }

 private:
  uint64_t s_;
};

// Per-series value generators: a third counters rising by small integers, a
// third gauges with noise at 3-4 significant digits, a third constants or
// slow steps; 1 sample in 20 is 1-5 ms off its 15 s grid.
class Workload {
 public:
  Workload(uint32_t series, uint64_t seed) : rng_(seed) {
    state_.resize(series);
    for (uint32_t i = 0; i < series; ++i) Start(i, i);
    next_id_ = series;
  }

  uint32_t size() const { return static_cast<uint32_t>(state_.size()); }
  // The series slot i holds now (its labels' number).
  uint64_t IdOf(uint32_t i) const { return state_[i].id; }

  // Ends a `fraction` of the series, a host (8 series, one per metric) at
  // a time, chosen at random, and starts as many new ones in their slots,
  // on new hosts (new instance labels), as pods replaced in Kubernetes.
  // Returns the slots that now hold new series.
  std::vector<uint32_t> TurnOver(double fraction) {
    const uint32_t hosts = (size() + kMetrics - 1) / kMetrics;
    carry_ += fraction * hosts;
    auto replace = static_cast<uint32_t>(carry_);
    carry_ -= replace;
    std::vector<uint32_t> slots;
    std::vector<bool> taken(hosts, false);
    for (uint32_t n = 0; n < std::min(replace, hosts); ++n) {
      uint32_t host;
      do {
        host = static_cast<uint32_t>(rng_.Next() % hosts);
      } while (taken[host]);
      taken[host] = true;
      uint64_t new_host = next_id_ / kMetrics;
      next_id_ += kMetrics;
      for (uint32_t m = 0; m < kMetrics; ++m) {
        uint32_t slot = host * kMetrics + m;
        if (slot >= size()) break;
        Start(slot, new_host * kMetrics + m);
        slots.push_back(slot);
      }
    }
    return slots;
  }

  static core::Labels LabelsOf(uint64_t i) {
    static constexpr const char* kMetricNames[kMetrics] = {
        "http_requests_total",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "process_resident_memory_bytes",
        "go_gc_duration_seconds",
        "node_network_receive_bytes_total",
        "prometheus_tsdb_head_series",
        "node_filesystem_avail_bytes"};
    static constexpr const char* kJobs[] = {"node", "api", "prometheus",
                                            "postgres-exporter"};
    uint64_t metric = i % kMetrics;
    uint64_t host = i / kMetrics;
    core::Labels labels = {
        {"__name__", kMetricNames[metric]},
        {"instance", absl::StrCat("10.", host / 65536 % 256, ".",
                                  host / 256 % 256, ".", host % 256, ":9100")},
        {"job", kJobs[host % 4]},
        {"env", host % 5 == 0 ? "staging" : "production"},
        {"region", absl::StrCat("eu-west-", 1 + host % 3)}};
    if (i % 2 == 0)
      labels.push_back({"cluster", absl::StrCat("k8s-", host % 7)});
    if (i % 3 == 0) labels.push_back({"mode", i % 6 == 0 ? "user" : "system"});
    if (i % 4 == 0) labels.push_back({"device", absl::StrCat("eth", host % 3)});
    if (i % 5 == 0) {
      labels.push_back(
          {"handler", absl::StrCat("/api/v1/query_range/", i % 11)});
    }
    return labels;
  }

  double Next(uint32_t i) {
    State& s = state_[i];
    switch (s.kind) {
      case 0:
        s.value += static_cast<double>(rng_.Next() % (s.step + 1));
        break;
      case 1:
        s.value = Round(s, s.base * (1 + 0.05 * (rng_.Uniform() - 0.5)));
        break;
      default:
        if (rng_.Next() % 500 == 0)
          s.value = Round(s, s.base * (1 + rng_.Uniform()));
    }
    return s.value;
  }

  int64_t Jitter() {
    uint64_t r = rng_.Next();
    if (r % 20 != 0) return 0;
    int64_t ms = 1 + static_cast<int64_t>((r >> 8) % 5);
    return (r >> 16) % 2 == 0 ? ms : -ms;
  }

 private:
  static constexpr uint32_t kMetrics = 8;  // series a host

  struct State {
    uint64_t id;
    uint32_t kind;
    uint32_t step;
    double base;
    double scale;  // 10^(exponent - digits): rounds to 3-4 significant digits
    double value;
  };
  static double Round(const State& s, double x) {
    return std::round(x / s.scale) * s.scale;
  }

  // Slot `i` starts series `id` with fresh values.
  void Start(uint32_t i, uint64_t id) {
    State& s = state_[i];
    s.id = id;
    s.kind = id % 3;
    double magnitude = std::pow(10.0, static_cast<double>(rng_.Next() % 7) - 2);
    s.base = magnitude * (1 + 9 * rng_.Uniform());
    s.scale = std::pow(10.0, std::floor(std::log10(s.base)) -
                                 static_cast<double>(2 + rng_.Next() % 2));
    s.step = 1 + rng_.Next() % 20;
    s.value = s.kind == 0 ? std::floor(s.base * 100) : Round(s, s.base);
  }

  Rng rng_;
  std::vector<State> state_;
  uint64_t next_id_ = 0;  // the next new series' labels
  double carry_ = 0;      // fractions of a host not yet replaced
};

}  // namespace keel::tools::churn

#endif  // KEEL_TOOLS_CHURN_WORKLOAD_H_
