#include "tools/server/metrics_endpoint.h"

#include <utility>

#include "prometheus/text_serializer.h"

namespace keel::tools {

void MetricsEndpoint::Add(std::shared_ptr<prometheus::Collectable> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

void MetricsEndpoint::Register(HttpServer* server) {
  server->Route("GET", "/metrics", [this](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = Render();
    return response;
  });
}

std::vector<prometheus::MetricFamily> MetricsEndpoint::Collect() const {
  std::vector<std::shared_ptr<prometheus::Collectable>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  std::vector<prometheus::MetricFamily> families;
  for (const auto& collector : collectors) {
    for (auto& family : collector->Collect()) {
      families.push_back(std::move(family));
    }
  }
  return families;
}

std::string MetricsEndpoint::Render() const {
  return prometheus::TextSerializer().Serialize(Collect());
}

}  // namespace keel::tools
