#include "tools/server/self_scrape.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "prometheus/text_serializer.h"
#include "tools/server/event_log.h"

namespace keel::tools {
namespace {

constexpr int64_t kFailureLogPeriodMs = 60 * 1000;

// Adds `name`="value" to a sample's labels; one of the same name is kept as
// exported_<name>.
void AddTargetLabel(std::vector<prometheus::ClientMetric::Label>& labels,
                    const std::string& name, const std::string& value) {
  for (auto& label : labels) {
    if (label.name == name) label.name = "exported_" + name;
  }
  labels.push_back({name, value});
}

}  // namespace

SelfScrape::SelfScrape(const MetricsEndpoint* metrics, PromApi* api,
                       SelfScrapeOptions options)
    : metrics_(metrics), api_(api), options_(std::move(options)) {}

SelfScrape::~SelfScrape() { Stop(); }

void SelfScrape::Start() {
  thread_ = std::thread([this] { Run(); });
}

void SelfScrape::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

HttpResponse SelfScrape::ScrapeOnce(int64_t now_ms) {
  std::vector<prometheus::MetricFamily> families = metrics_->Collect();
  for (prometheus::MetricFamily& family : families) {
    for (prometheus::ClientMetric& metric : family.metric) {
      metric.timestamp_ms = now_ms;
      AddTargetLabel(metric.label, "job", "keel");
      AddTargetLabel(metric.label, "instance", options_.instance);
    }
  }
  HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/import/prometheus";
  request.body = prometheus::TextSerializer().Serialize(families);
  HttpResponse answer = api_->Import(request);
  (answer.status == 204 ? scrapes_ : failed_scrapes_).fetch_add(1);
  return answer;
}

void SelfScrape::Run() {
  const auto interval = std::chrono::milliseconds(options_.interval_ms);
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    HttpResponse answer = ScrapeOnce(now_ms);
    if (answer.status != 204 &&
        now_ms - last_failure_log_ms_ >= kFailureLogPeriodMs) {
      last_failure_log_ms_ = now_ms;
      LogEvent(absl::StrCat(
          "self-scrape: the import of keel's own metrics "
          "answered ",
          answer.status, " (", answer.body, "); this scrape is skipped; ",
          failed_scrapes_.load(), " failed so far"));
    }
    lock.lock();
  }
}

}  // namespace keel::tools
