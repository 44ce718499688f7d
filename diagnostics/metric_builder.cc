#include "diagnostics/metric_builder.h"

#include <iterator>

namespace keel::diagnostics {

MetricBuilder::Family& MetricBuilder::Family::Add(
    double value, std::vector<std::pair<std::string, std::string>> labels) {
  prometheus::ClientMetric metric;
  for (auto& [name, label_value] : labels) {
    metric.label.push_back({std::move(name), std::move(label_value)});
  }
  if (family_->type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family_->metric.push_back(std::move(metric));
  return *this;
}

MetricBuilder::Family MetricBuilder::Gauge(std::string name, std::string help) {
  return Start(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

MetricBuilder::Family MetricBuilder::Counter(std::string name,
                                             std::string help) {
  return Start(std::move(name), std::move(help),
               prometheus::MetricType::Counter);
}

MetricBuilder::Family MetricBuilder::Start(std::string name, std::string help,
                                           prometheus::MetricType type) {
  families_.push_back({std::move(name), std::move(help), type, {}});
  return Family(&families_.back());
}

std::vector<prometheus::MetricFamily> MetricBuilder::Take() {
  std::vector<prometheus::MetricFamily> families(
      std::make_move_iterator(families_.begin()),
      std::make_move_iterator(families_.end()));
  families_.clear();
  return families;
}

}  // namespace keel::diagnostics
