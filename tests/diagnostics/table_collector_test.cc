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

TEST_CASE("table collector counts reloads and says when each table loaded") {
  TableCollector collector;
  collector.Add("ip2asn", [] { return TableCollector::Figures{1, 10}; });
  collector.Add("pfx2as", [] { return TableCollector::Figures{2, 20}; });
  auto families = collector.Collect();
  // Counters from 0, so that increase() and alerts see the first reload.
  CHECK(SampleValue(families, "keel_table_reloads_total",
                    {{"table", "ip2asn"}}) == 0);
  CHECK(SampleValue(families, "keel_table_reload_failures_total",
                    {{"table", "pfx2as"}}) == 0);
  std::string text = prometheus::TextSerializer().Serialize(families);
  CHECK_THAT(text, !Catch::Contains("keel_table_loaded_timestamp_seconds{"));

  collector.Loaded("ip2asn", 1700000000.5);
  collector.CountReload("ip2asn", true);
  collector.CountReload("ip2asn", true);
  collector.CountReload("pfx2as", false);
  families = collector.Collect();
  CHECK(SampleValue(families, "keel_table_loaded_timestamp_seconds",
                    {{"table", "ip2asn"}}) == 1700000000.5);
  CHECK(SampleValue(families, "keel_table_reloads_total",
                    {{"table", "ip2asn"}}) == 2);
  CHECK(SampleValue(families, "keel_table_reloads_total",
                    {{"table", "pfx2as"}}) == 0);
  CHECK(SampleValue(families, "keel_table_reload_failures_total",
                    {{"table", "pfx2as"}}) == 1);
  text = prometheus::TextSerializer().Serialize(families);
  CHECK_THAT(text,
             !Catch::Contains(
                 "keel_table_loaded_timestamp_seconds{table=\"pfx2as\"}"));
}

}  // namespace
}  // namespace keel::diagnostics
