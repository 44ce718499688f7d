#include "keel/diagnostics/table_collector.h"

#include <catch2/catch.hpp>
#include <string>

#include "keel/core/range_table_builder.h"
#include "prometheus/text_serializer.h"

namespace keel::diagnostics {
namespace {

double Value(const std::vector<prometheus::MetricFamily>& families,
             const std::string& name, const std::string& table) {
  for (const auto& f : families) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      if (m.label.size() == 1 && m.label[0].name == "table" &&
          m.label[0].value == table) {
        return m.gauge.value;
      }
    }
  }
  FAIL("no " << name << " for table " << table);
  return 0;
}

TEST_CASE("table collector reports rows and bytes of each table") {
  core::RangeTableBuilder builder;
  core::RangeFields fields{.sets_as = true,
                           .asn = 13335,
                           .name = "Cloudflare",
                           .sets_country = true,
                           .country = "AU"};
  REQUIRE(builder
              .AddRange(*core::IpAddress::Parse("1.0.0.0"),
                        *core::IpAddress::Parse("1.0.0.255"), fields)
              .ok());
  REQUIRE(builder
              .AddRange(*core::IpAddress::Parse("2001:db8::"),
                        *core::IpAddress::Parse("2001:db8::ffff"), fields)
              .ok());
  auto ranges = std::move(builder).Build();
  REQUIRE(ranges.ok());
  core::PrefixTable<uint32_t> prefixes;
  prefixes.insert(*core::Prefix::Parse("1.0.0.0/24"), 13335);
  prefixes.insert(*core::Prefix::Parse("2001:db8::/32"), 64500);

  TableCollector collector;
  collector.Add("ip2asn", &*ranges);
  collector.Add("pfx2as", &prefixes);
  collector.Add("custom", [] { return TableCollector::Figures{7, 70}; });
  auto families = collector.Collect();
  CHECK(Value(families, "keel_table_rows", "ip2asn") ==
        static_cast<double>(ranges->v4_rows() + ranges->v6_rows()));
  CHECK(Value(families, "keel_table_bytes", "ip2asn") ==
        static_cast<double>(ranges->table_bytes()));
  CHECK(Value(families, "keel_table_rows", "pfx2as") == 2);
  CHECK(Value(families, "keel_table_bytes", "pfx2as") ==
        static_cast<double>(prefixes.memory_bytes()));
  CHECK(Value(families, "keel_table_rows", "custom") == 7);
  CHECK(Value(families, "keel_table_bytes", "custom") == 70);

  prefixes.insert(*core::Prefix::Parse("1.0.0.0/16"), 1);
  families = collector.Collect();  // read at scrape time
  CHECK(Value(families, "keel_table_rows", "pfx2as") == 3);
  std::string text = prometheus::TextSerializer().Serialize(families);
  CHECK_THAT(text, Catch::Contains("keel_table_rows{table=\"pfx2as\"} 3"));
}

}  // namespace
}  // namespace keel::diagnostics
