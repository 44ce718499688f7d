#include "core/ranges/range_table_builder.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"

namespace keel::core {
namespace {

using testing::TempDir;

// Writes `text` to a file, adds it to a fresh builder, returns the status.
absl::Status AddText(const std::string& text,
                     OverlapPolicy overlap = OverlapPolicy::kError,
                     bool build = false) {
  TempDir dir("range_builder_test");
  std::string path = dir.File("feed.txt");
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  RangeTableBuilder builder(overlap);
  absl::Status status = builder.AddFile(path);
  if (status.ok() && build) status = std::move(builder).Build().status();
  return status;
}

void CheckError(const absl::Status& status, const std::string& where,
                const std::string& why) {
  REQUIRE_FALSE(status.ok());
  std::string message(status.message());
  INFO(message);
  CHECK(message.find(where) != std::string::npos);
  CHECK(message.find(why) != std::string::npos);
}

const char kGood[] = "1.0.0.0\t1.0.0.255\t13335\tAU\tCloudflare, Inc.\n";

TEST_CASE("every TSV row error names the file, line and field") {
  struct Case {
    std::string bad_line;
    const char* why;
  };
  for (const auto& [bad, why] : {
           Case{"1.0.1.0\t1.0.1.255\t1\tAU", "4 fields where"},
           Case{"1.0.1.0\t1.0.1.255\t1\tAU\tx\ty", "more than 5 fields"},
           Case{"1.0.1\t1.0.1.255\t1\tAU\tx", "field start: invalid IPv4"},
           Case{"1.0.1.0\t1.0.1.256\t1\tAU\tx", "field end: invalid IPv4"},
           Case{"1.0.1.0\t::1\t1\tAU\tx", "different families"},
           Case{"1.0.1.9\t1.0.1.0\t1\tAU\tx", "end is before start"},
           Case{"1.0.1.0\t1.0.1.255\tAS1\tAU\tx", "not an AS number"},
           Case{"1.0.1.0\t1.0.1.255\t-1\tAU\tx", "not an AS number"},
           Case{"1.0.1.0\t1.0.1.255\t4294967296\tAU\tx",
                "does not fit 32 bits"},
           Case{"1.0.1.0\t1.0.1.255\t12345678901\tAU\tx", "not an AS number"},
           Case{"1.0.1.0\t1.0.1.255\t1\tAUS\tx", "field country"},
           Case{"1.0.1.0\t1.0.1.255\t1\t1A\tx", "not two letters or None"},
           Case{"1.0.1.0\t1.0.1.255\t1\t\tx", "not two letters or None"},
           Case{"2001:db8::/32\t2001:db8::1\t1\tAU\tx", "field start"},
       }) {
    INFO(bad);
    CheckError(AddText(std::string(kGood) + "\n" + bad + "\n"),
               "feed.txt:3:", why);
  }
}

TEST_CASE("every CSV row error names the file, line and field") {
  const std::string asn = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n";
  CheckError(AddText(asn + "1.0.1.0,1.0.1.255,1,\"open\n"),
             "feed.txt:2:", "unbalanced quotes");
  CheckError(AddText(asn + "1.0.1.0,1.0.1.255,1,\"a\"b\n"),
             "feed.txt:2:", "after a closing quote");
  CheckError(AddText(asn + "1.0.1.0,1.0.1.255,1,Cloudflare, Inc.\n"),
             "feed.txt:2:", "5 fields where the file's layout has 4");
  CheckError(AddText(asn + "1.0.1.0,1.0.1.255,x1,y\n"),
             "feed.txt:2:", "field asn");
  CheckError(AddText(asn + "1.0.1.0,1.0.1.255,US\n"),
             "feed.txt:2:", "3 fields where the file's layout has 4");
  const std::string country = "1.0.0.0,1.0.0.255,AU\n";
  CheckError(AddText(country + "1.0.1.0,1.0.1.255,Australia\n"),
             "feed.txt:2:", "field country");
  CheckError(AddText(country + "::1,::,AU\n"),
             "feed.txt:2:", "end is before start");
}

TEST_CASE("a file of no known layout is refused at its first line") {
  CheckError(AddText("\nstart;end;asn\n"), "feed.txt:2:", "not a known layout");
  CheckError(AddText("a\tb\n"), "feed.txt:1:", "tab-separated line with 2");
  CheckError(AddText("1.0.0.0,1.0.0.255\n"),
             "feed.txt:1:", "not a known layout");
}

TEST_CASE("a missing file is an error naming it") {
  TempDir dir("range_builder_test");
  RangeTableBuilder builder;
  CheckError(builder.AddFile(dir.File("missing.tsv")), "missing.tsv",
             "No such file");
}

TEST_CASE("quoted CSV fields unquote") {
  TempDir dir("range_builder_test");
  std::string path = dir.File("quoted.csv");
  {
    std::ofstream out(path);
    out << "1.0.0.0,1.0.0.255,13335,\"Cloudflare, \"\"Inc.\"\"\"\n";
  }
  RangeTableBuilder builder;
  REQUIRE(builder.AddFile(path).ok());
  auto table = std::move(builder).Build();
  REQUIRE(table.ok());
  auto match = table->Lookup(*IpAddress::Parse("1.0.0.7"));
  REQUIRE(match.has_value());
  CHECK(match->record.name == "Cloudflare, \"Inc.\"");
  CHECK(match->record.asn == 13335);
}

TEST_CASE("overlaps are refused by default, naming both lines") {
  const std::string text =
      "10.0.0.0\t10.0.255.255\t1\tAU\ta\n"
      "11.0.0.0\t11.0.0.255\t2\tAU\tb\n"
      "10.0.1.0\t10.0.1.255\t3\tNZ\tc\n";
  absl::Status s = AddText(text, OverlapPolicy::kError, /*build=*/true);
  CheckError(s, "feed.txt:3 (10.0.1.0-10.0.1.255) overlaps ",
             "feed.txt:1 (10.0.0.0-10.0.255.255) in the AS number and name "
             "fields; --overlap first or last");
  CHECK(AddText(text, OverlapPolicy::kLast, true).ok());
  CHECK(AddText(text, OverlapPolicy::kFirst, true).ok());
}

TEST_CASE("a repeated row is named a duplicate of its earlier line") {
  const std::string row = "10.0.0.0\t10.0.0.255\t1\tAU\ta\n";
  const std::string text = row + "11.0.0.0\t11.0.0.255\t2\tAU\tb\n" + row;
  absl::Status s = AddText(text, OverlapPolicy::kError, /*build=*/true);
  REQUIRE_FALSE(s.ok());
  CheckError(s, "feed.txt:3 (10.0.0.0-10.0.0.255) duplicates ",
             "feed.txt:1 (the same range and values); --overlap first or "
             "last accepts repeated rows");
  CHECK(std::string(s.message()).find("overlaps") == std::string::npos);
  CHECK(AddText(text, OverlapPolicy::kLast, true).ok());
  CHECK(AddText(text, OverlapPolicy::kFirst, true).ok());

  // The same range with another value says which field differs.
  s = AddText(row + "10.0.0.0\t10.0.0.255\t1\tNZ\ta\n", OverlapPolicy::kError,
              true);
  CheckError(s, "feed.txt:2 (10.0.0.0-10.0.0.255) repeats the range of ",
             "feed.txt:1 with another country; --overlap first or last");
  s = AddText(row + "10.0.0.0\t10.0.0.255\t2\tAU\ta\n", OverlapPolicy::kError,
              true);
  CheckError(s, "feed.txt:2 (10.0.0.0-10.0.0.255) repeats the range of ",
             "feed.txt:1 with another AS number and name");
}

TEST_CASE("LoadRangeTable refuses an empty feed, naming it") {
  TempDir dir("range_builder_test");
  std::string good = dir.Write("good.tsv", kGood);
  std::string empty = dir.Write("empty.tsv", "");
  std::string blank = dir.Write("blank.tsv", "\n\n");
  struct Case {
    std::vector<std::string> paths;
    std::string culprit;
  };
  for (const auto& [paths, culprit] :
       {Case{{empty}, empty}, Case{{blank}, blank}, Case{{good, empty}, empty},
        Case{{empty, good}, empty}}) {
    auto table = LoadRangeTable(paths, OverlapPolicy::kError);
    REQUIRE_FALSE(table.ok());
    CHECK(table.status().message() == culprit + ": no ranges (an empty feed)");
  }
  CHECK(LoadRangeTable({good}, OverlapPolicy::kError).ok());
}

TEST_CASE("last paints later rows over earlier ones; first keeps earlier") {
  TempDir dir("range_builder_test");
  std::string path = dir.File("nested.tsv");
  {
    std::ofstream out(path);
    out << "10.0.0.0\t10.0.255.255\t1\tAU\twide\n"
           "10.0.1.0\t10.0.1.255\t2\tNZ\tnarrow\n"
           "10.0.1.128\t10.0.1.128\t0\tNone\tNot routed\n";
  }
  RangeTableBuilder last(OverlapPolicy::kLast);
  REQUIRE(last.AddFile(path).ok());
  auto table = std::move(last).Build();
  REQUIRE(table.ok());
  auto before = table->Lookup(*IpAddress::Parse("10.0.0.255"));
  REQUIRE(before.has_value());
  CHECK(before->record.name == "wide");
  CHECK(before->last.ToString() == "10.0.0.255");
  auto inside = table->Lookup(*IpAddress::Parse("10.0.1.1"));
  REQUIRE(inside.has_value());
  CHECK(inside->record.name == "narrow");
  CHECK(inside->record.country == "NZ");
  CHECK(inside->last.ToString() == "10.0.1.127");
  CHECK_FALSE(table->Lookup(*IpAddress::Parse("10.0.1.128")).has_value());
  auto after = table->Lookup(*IpAddress::Parse("10.0.2.0"));
  REQUIRE(after.has_value());
  CHECK(after->record.name == "wide");
  CHECK(after->first.ToString() == "10.0.2.0");
  CHECK(after->last.ToString() == "10.0.255.255");

  RangeTableBuilder first(OverlapPolicy::kFirst);
  REQUIRE(first.AddFile(path).ok());
  auto kept = std::move(first).Build();
  REQUIRE(kept.ok());
  auto wide = kept->Lookup(*IpAddress::Parse("10.0.1.128"));
  REQUIRE(wide.has_value());
  CHECK(wide->record.name == "wide");
  CHECK(wide->first.ToString() == "10.0.0.0");
  CHECK(wide->last.ToString() == "10.0.255.255");
}

TEST_CASE("a failed file adds nothing") {
  TempDir dir("range_builder_test");
  std::string path = dir.File("half.tsv");
  {
    std::ofstream out(path);
    out << kGood << "bad\n";
  }
  RangeTableBuilder builder;
  CHECK_FALSE(builder.AddFile(path).ok());
  CHECK(builder.rows() == 0);
}

TEST_CASE("AddRange checks its arguments") {
  RangeTableBuilder builder;
  RangeFields f;
  f.sets_country = true;
  f.country = "nz";
  CHECK_FALSE(
      builder
          .AddRange(*IpAddress::Parse("1.0.0.0"), *IpAddress::Parse("::1"), f)
          .ok());
  CHECK_FALSE(builder
                  .AddRange(*IpAddress::Parse("1.0.0.9"),
                            *IpAddress::Parse("1.0.0.1"), f)
                  .ok());
  f.country = "NZL";
  CHECK_FALSE(builder
                  .AddRange(*IpAddress::Parse("1.0.0.0"),
                            *IpAddress::Parse("1.0.0.1"), f)
                  .ok());
  f.country = "nz";  // stored upper-case
  REQUIRE(builder
              .AddRange(*IpAddress::Parse("1.0.0.0"),
                        *IpAddress::Parse("1.0.0.1"), f)
              .ok());
  auto table = std::move(builder).Build();
  REQUIRE(table.ok());
  CHECK(table->Lookup(*IpAddress::Parse("1.0.0.1"))->record.country == "NZ");
}

TEST_CASE("ParseOverlapPolicy") {
  CHECK(*ParseOverlapPolicy("error") == OverlapPolicy::kError);
  CHECK(*ParseOverlapPolicy("first") == OverlapPolicy::kFirst);
  CHECK(*ParseOverlapPolicy("last") == OverlapPolicy::kLast);
  CHECK_FALSE(ParseOverlapPolicy("newest").ok());
}

}  // namespace
}  // namespace keel::core
