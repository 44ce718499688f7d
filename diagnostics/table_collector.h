// TableCollector: the lookup tables' sizes as Prometheus metrics, read at
// scrape time: keel_table_rows{table} (rows, gaps included, for a
// RangeTable; prefixes for a PrefixTable) and keel_table_bytes{table} (every
// byte the table holds); and, for a server that reloads its tables,
// keel_table_loaded_timestamp_seconds{table} (when the served version was
// loaded, once Loaded has said so), keel_table_reloads_total{table} and
// keel_table_reload_failures_total{table} (0 from the start).
//
//   auto tables = std::make_shared<TableCollector>();
//   tables->Add("ip2asn", &range_table);
//   tables->Add("pfx2as", &prefix_table);
//   tables->Loaded("ip2asn", absl::ToDoubleUnixSeconds(absl::Now()));
//   registry.push_back(tables);
//   ...
//   tables->CountReload("pfx2as", /*succeeded=*/false);
//
// Thread safety: Add only before the first Collect; Loaded, CountReload and
// Collect may run on any thread at once, while the tables are read (and a
// PrefixTable written).
// REQUIRES: the tables outlive the collector (a reloading server adds a
// function that reads the tables it serves now).
#ifndef KEEL_DIAGNOSTICS_TABLE_COLLECTOR_H_
#define KEEL_DIAGNOSTICS_TABLE_COLLECTOR_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "core/prefixes/prefix_table.h"
#include "core/ranges/range_table.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keel::diagnostics {

class TableCollector : public prometheus::Collectable {
 public:
  struct Figures {
    uint64_t rows = 0;
    uint64_t bytes = 0;
  };
  static Figures FiguresOf(const core::RangeTable& table);
  static Figures FiguresOf(const core::PrefixTable<uint32_t>& table);

  void Add(std::string name, const core::RangeTable* table);
  void Add(std::string name, const core::PrefixTable<uint32_t>* table);
  // Any other table: `figures` is called at each scrape.
  void Add(std::string name, std::function<Figures()> figures);

  // The served version of table `name` was loaded at `unix_seconds`.
  // REQUIRES: `name` was added.
  void Loaded(std::string_view name, double unix_seconds);
  // Counts one reload of table `name`, or one that failed (the old version
  // stays served). REQUIRES: `name` was added.
  void CountReload(std::string_view name, bool succeeded);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Table {
    Table(std::string n, std::function<Figures()> f)
        : name(std::move(n)), figures(std::move(f)) {}
    const std::string name;
    const std::function<Figures()> figures;
    std::atomic<double> loaded_seconds{-1};  // < 0: not said
    std::atomic<uint64_t> reloads{0};
    std::atomic<uint64_t> reload_failures{0};
  };
  Table& Find(std::string_view name);

  std::deque<Table> tables_;  // a deque: its atomics never move
};

}  // namespace keel::diagnostics

#endif  // KEEL_DIAGNOSTICS_TABLE_COLLECTOR_H_
