#include "diagnostics/table_collector.h"

#include <utility>

#include "diagnostics/metric_builder.h"

namespace keel::diagnostics {

void TableCollector::Add(std::string name, const core::RangeTable* table) {
  Add(std::move(name), [table] {
    return Figures{table->v4_rows() + table->v6_rows(), table->table_bytes()};
  });
}

void TableCollector::Add(std::string name,
                         const core::PrefixTable<uint32_t>* table) {
  Add(std::move(name), [table] {
    return Figures{table->size(), table->memory_bytes()};
  });
}

void TableCollector::Add(std::string name, std::function<Figures()> figures) {
  tables_.emplace_back(std::move(name), std::move(figures));
}

std::vector<prometheus::MetricFamily> TableCollector::Collect() const {
  MetricBuilder b;
  auto rows = b.Gauge("keel_table_rows",
                      "Rows of a lookup table (ranges, gaps included, or "
                      "prefixes).");
  auto bytes = b.Gauge("keel_table_bytes", "Bytes a lookup table holds.");
  for (const auto& [name, figures] : tables_) {
    Figures f = figures();
    rows.Add(static_cast<double>(f.rows), {{"table", name}});
    bytes.Add(static_cast<double>(f.bytes), {{"table", name}});
  }
  return b.Take();
}

}  // namespace keel::diagnostics
