// TableCollector: the lookup tables' sizes as Prometheus metrics, read at
// scrape time: keel_table_rows{table} (rows, gaps included, for a
// RangeTable; prefixes for a PrefixTable) and keel_table_bytes{table} (every
// byte the table holds).
//
//   auto tables = std::make_shared<TableCollector>();
//   tables->Add("ip2asn", &range_table);
//   tables->Add("pfx2as", &prefix_table);
//   registry.push_back(tables);
//
// Thread safety: Add only before the first Collect; Collect may run on any
// thread while the tables are read (and a PrefixTable written).
// REQUIRES: the tables outlive the collector.
#ifndef KEEL_DIAGNOSTICS_TABLE_COLLECTOR_H_
#define KEEL_DIAGNOSTICS_TABLE_COLLECTOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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

  void Add(std::string name, const core::RangeTable* table);
  void Add(std::string name, const core::PrefixTable<uint32_t>* table);
  // Any other table: `figures` is called at each scrape.
  void Add(std::string name, std::function<Figures()> figures);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::vector<std::pair<std::string, std::function<Figures()>>> tables_;
};

}  // namespace keel::diagnostics

#endif  // KEEL_DIAGNOSTICS_TABLE_COLLECTOR_H_
