#include "tools/server/table_reloader.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "alloc/purge.h"
#include "tools/server/event_log.h"

namespace keel::tools {
namespace {

constexpr char kRanges[] = "ip2asn";
constexpr char kPrefixes[] = "pfx2as";

absl::Status Named(const char* table, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(table, ": ", status.message()));
}

}  // namespace

TableReloader::TableReloader(std::vector<std::string> ip2asn,
                             std::string pfx2as)
    : ip2asn_(std::move(ip2asn)),
      pfx2as_(std::move(pfx2as)),
      collector_(std::make_shared<diagnostics::TableCollector>()) {
  using Figures = diagnostics::TableCollector::Figures;
  // The collector reads the set served at each scrape.
  if (!ip2asn_.empty()) {
    collector_->Add(kRanges, [this] {
      std::shared_ptr<const TableSet> tables = Current();
      return tables->ranges
                 ? diagnostics::TableCollector::FiguresOf(*tables->ranges)
                 : Figures{};
    });
  }
  if (!pfx2as_.empty()) {
    collector_->Add(kPrefixes, [this] {
      std::shared_ptr<const TableSet> tables = Current();
      return tables->prefixes
                 ? diagnostics::TableCollector::FiguresOf(*tables->prefixes)
                 : Figures{};
    });
  }
}

absl::StatusOr<std::unique_ptr<TableReloader>> TableReloader::Load(
    std::vector<std::string> ip2asn, std::string pfx2as) {
  std::unique_ptr<TableReloader> reloader(
      new TableReloader(std::move(ip2asn), std::move(pfx2as)));
  if (reloader->ip2asn_.empty()) {
    LogEvent("no --ip2asn: /v1/lookup answers 404");
  }
  if (reloader->pfx2as_.empty()) {
    LogEvent("no --pfx2as: /v1/prefix answers 404");
  }
  auto tables = reloader->Build(/*first=*/true);
  if (!tables.ok()) return tables.status();
  alloc::PurgeAll();  // what parsing the files freed
  reloader->Served(**tables, /*reloaded=*/false);
  {
    std::unique_lock lock(reloader->mu_);
    reloader->current_ = *std::move(tables);
  }
  return reloader;
}

std::shared_ptr<const TableSet> TableReloader::Current() const {
  std::shared_lock lock(mu_);
  return current_;
}

absl::StatusOr<std::unique_ptr<TableSet>> TableReloader::Build(bool first) {
  auto tables = std::make_unique<TableSet>();
  auto ranges = LoadRanges(ip2asn_);
  if (!ranges.ok()) {
    if (!first) collector_->CountReload(kRanges, false);
    return Named(kRanges, ranges.status());
  }
  tables->ranges = *std::move(ranges);
  tables->ranges_loaded = absl::Now();
  auto prefixes = LoadPrefixes(pfx2as_);
  if (!prefixes.ok()) {
    if (!first) collector_->CountReload(kPrefixes, false);
    return Named(kPrefixes, prefixes.status());
  }
  tables->prefixes = *std::move(prefixes);
  tables->prefixes_loaded = absl::Now();
  return tables;
}

void TableReloader::Served(const TableSet& tables, bool reloaded) {
  if (tables.ranges) {
    if (reloaded) collector_->CountReload(kRanges, true);
    collector_->Loaded(kRanges, absl::ToDoubleSeconds(tables.ranges_loaded -
                                                      absl::UnixEpoch()));
  }
  if (tables.prefixes) {
    if (reloaded) collector_->CountReload(kPrefixes, true);
    collector_->Loaded(kPrefixes, absl::ToDoubleSeconds(tables.prefixes_loaded -
                                                        absl::UnixEpoch()));
  }
}

absl::StatusOr<TableReloader::Outcome> TableReloader::Reload(Waiting waiting) {
  auto seconds_since = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  if (waiting == kTry) {
    if (!reload_mu_.try_lock()) {
      return absl::AbortedError(
          "a table reload is already running; try again when it ends");
    }
  } else {
    reload_mu_.lock();
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> sources = ip2asn_;
  if (!pfx2as_.empty()) sources.push_back(pfx2as_);
  LogEvent(absl::StrCat("reloading tables from ",
                        sources.empty() ? "nothing (none configured)"
                                        : absl::StrJoin(sources, ", ")));
  auto built = Build(/*first=*/false);
  if (!built.ok()) {
    reload_mu_.unlock();
    LogEvent(
        absl::StrCat("table reload failed, the previous tables stay "
                     "served: ",
                     built.status().message()));
    return built.status();
  }
  Outcome outcome;
  outcome.load_seconds = seconds_since(start);
  outcome.tables = *std::move(built);
  std::shared_ptr<const TableSet> old;
  {
    std::unique_lock lock(mu_);
    old = std::exchange(current_, outcome.tables);
  }
  Served(*outcome.tables, /*reloaded=*/true);
  // Nothing can take `old` any more; once this is its only owner, it is
  // freed here, not in the last request that read it.
  auto drain_start = std::chrono::steady_clock::now();
  const auto drain_end = drain_start + absl::ToChronoMilliseconds(kDrainLimit);
  while (old.use_count() > 1 && std::chrono::steady_clock::now() < drain_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  outcome.drain_seconds = seconds_since(drain_start);
  if (old.use_count() > 1) {
    LogEvent(absl::StrFormat(
        "the previous tables are still read after %.0f s; the last request "
        "reading them frees them",
        absl::ToDoubleSeconds(kDrainLimit)));
  }
  old.reset();
  outcome.purged_bytes = alloc::PurgeAll();
  reload_mu_.unlock();
  LogEvent(absl::StrFormat(
      "tables reloaded in %.3f s (%.3f s building, %.3f s waiting for "
      "requests reading the previous ones); the previous tables freed, %d "
      "bytes purged",
      seconds_since(start), outcome.load_seconds, outcome.drain_seconds,
      outcome.purged_bytes));
  return outcome;
}

}  // namespace keel::tools
