#include "diagnostics/table_collector.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "diagnostics/metric_builder.h"

namespace keel::diagnostics {

TableCollector::Figures TableCollector::FiguresOf(
    const core::RangeTable& table) {
  return Figures{table.v4_rows() + table.v6_rows(), table.table_bytes()};
}

TableCollector::Figures TableCollector::FiguresOf(
    const core::PrefixTable<uint32_t>& table) {
  return Figures{table.size(), table.memory_bytes()};
}

void TableCollector::Add(std::string name, const core::RangeTable* table) {
  Add(std::move(name), [table] { return FiguresOf(*table); });
}

void TableCollector::Add(std::string name,
                         const core::PrefixTable<uint32_t>* table) {
  Add(std::move(name), [table] { return FiguresOf(*table); });
}

void TableCollector::Add(std::string name, std::function<Figures()> figures) {
  tables_.emplace_back(std::move(name), std::move(figures));
}

TableCollector::Table& TableCollector::Find(std::string_view name) {
  for (Table& table : tables_) {
    if (table.name == name) return table;
  }
  std::fprintf(stderr, "keel: TableCollector has no table \"%.*s\"\n",
               static_cast<int>(name.size()), name.data());
  std::abort();  // a caller's bug: the names are fixed at start
}

void TableCollector::Loaded(std::string_view name, double unix_seconds) {
  Find(name).loaded_seconds.store(unix_seconds, std::memory_order_relaxed);
}

void TableCollector::CountReload(std::string_view name, bool succeeded) {
  Table& table = Find(name);
  (succeeded ? table.reloads : table.reload_failures)
      .fetch_add(1, std::memory_order_relaxed);
}

std::vector<prometheus::MetricFamily> TableCollector::Collect() const {
  MetricBuilder b;
  auto rows = b.Gauge("keel_table_rows",
                      "Rows of a lookup table (ranges, gaps included, or "
                      "prefixes).");
  auto bytes = b.Gauge("keel_table_bytes", "Bytes a lookup table holds.");
  auto loaded = b.Gauge("keel_table_loaded_timestamp_seconds",
                        "When the served version of a lookup table was "
                        "loaded, in Unix seconds.");
  auto reloads = b.Counter("keel_table_reloads_total",
                           "Reloads of a lookup table that replaced it.");
  auto failures = b.Counter("keel_table_reload_failures_total",
                            "Reloads of a lookup table that failed; the "
                            "previous version stayed served.");
  for (const Table& table : tables_) {
    Figures f = table.figures();
    rows.Add(static_cast<double>(f.rows), {{"table", table.name}});
    bytes.Add(static_cast<double>(f.bytes), {{"table", table.name}});
    double seconds = table.loaded_seconds.load(std::memory_order_relaxed);
    if (seconds >= 0) loaded.Add(seconds, {{"table", table.name}});
    reloads.Add(static_cast<double>(table.reloads.load()),
                {{"table", table.name}});
    failures.Add(static_cast<double>(table.reload_failures.load()),
                 {{"table", table.name}});
  }
  return b.Take();
}

}  // namespace keel::diagnostics
