#include "diagnostics/table_collector.h"

#include <catch2/catch.hpp>
#include <string>

#include "core/ranges/range_table_builder.h"
#include "prometheus/text_serializer.h"
#include "tests/diagnostics/metric_samples.h"

namespace keel::diagnostics {
namespace {

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
  prefixes.Insert(*core::Prefix::Parse("1.0.0.0/24"), 13335);
  prefixes.Insert(*core::Prefix::Parse("2001:db8::/32"), 64500);

  TableCollector collector;
  collector.Add("ip2asn", &*ranges);
  collector.Add("pfx2as", &prefixes);
  collector.Add("custom", [] { return TableCollector::Figures{7, 70}; });
  auto families = collector.Collect();
  CHECK(SampleValue(families, "keel_table_rows", {{"table", "ip2asn"}}) ==
        static_cast<double>(ranges->v4_rows() + ranges->v6_rows()));
  CHECK(SampleValue(families, "keel_table_bytes", {{"table", "ip2asn"}}) ==
        static_cast<double>(ranges->table_bytes()));
  CHECK(SampleValue(families, "keel_table_rows", {{"table", "pfx2as"}}) == 2);
  CHECK(SampleValue(families, "keel_table_bytes", {{"table", "pfx2as"}}) ==
        static_cast<double>(prefixes.memory_bytes()));
  CHECK(SampleValue(families, "keel_table_rows", {{"table", "custom"}}) == 7);
  CHECK(SampleValue(families, "keel_table_bytes", {{"table", "custom"}}) == 70);

  prefixes.Insert(*core::Prefix::Parse("1.0.0.0/16"), 1);
  families = collector.Collect();  // read at scrape time
  CHECK(SampleValue(families, "keel_table_rows", {{"table", "pfx2as"}}) == 3);
  std::string text = prometheus::TextSerializer().Serialize(families);
  CHECK_THAT(text, Catch::Contains("keel_table_rows{table=\"pfx2as\"} 3"));
}

}  // namespace
}  // namespace keel::diagnostics
