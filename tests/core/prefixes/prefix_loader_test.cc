// The prefix-file loaders: every format, gzip, mixed families, multi-origin
// rows, and every error with its file and line.
#include "core/prefixes/prefix_loader.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/ip.h"
#include "core/prefixes/prefix_table.h"

namespace keel::core {
namespace {

using Table = PrefixTable<uint32_t>;

std::string DataFile(const char* name) {
  return std::string(KEEL_TEST_DATA_DIR) + "/" + name;
}

// A file in the temp directory holding `text`, removed at scope end.
class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(std::string("/tmp/keel_prefix_loader_test_") +
              std::to_string(getpid()) + "_" + std::to_string(counter_++)) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

Prefix P(const char* text) { return *Prefix::Parse(text); }

TEST_CASE("pyasn file cut from the RouteViews table, plain and gzip",
          "[prefix_loader]") {
  Table plain, gzip;
  auto a = LoadPrefixTable(DataFile("pfx2as-sample.dat"), {}, plain);
  auto b = LoadPrefixTable(DataFile("pfx2as-sample.dat.gz"), {}, gzip);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->format == PrefixFileFormat::kPyasn);
  CHECK(a->rows == 291);
  CHECK(b->rows == 291);
  CHECK(plain.size() == 291);
  CHECK(gzip.size() == 291);
  CHECK(plain.Exact(P("12.0.19.0/24")) == 27487u);
  CHECK(plain.Longest(*IpAddress::Parse("12.0.19.99"))->prefix ==
        P("12.0.19.0/24"));
  CHECK(plain.Longest(*IpAddress::Parse("12.100.0.1"))->prefix ==
        P("12.0.0.0/9"));
  CHECK(plain.Longest(*IpAddress::Parse("12.200.0.1"))->prefix ==
        P("12.0.0.0/8"));
}

TEST_CASE("pyasn rows may mix IPv6 and IPv4", "[prefix_loader]") {
  Table table;
  auto stats = LoadPrefixTable(DataFile("pfx2as-mixed-v6.dat"), {}, table);
  REQUIRE(stats.ok());
  CHECK(stats->rows == 8);
  CHECK(table.Exact(P("2001:db8:ffff::/48")) == 64504u);
  CHECK(table.Longest(*IpAddress::Parse("2001:db8:1:2::1"))->value == 64503u);
  CHECK(table.Longest(*IpAddress::Parse("3fff::1"))->prefix == P("::/0"));
  CHECK(table.Exact(P("192.0.2.0/24")) == 64496u);
}

TEST_CASE("CAIDA rows keep the first of several origins", "[prefix_loader]") {
  Table table;
  auto stats = LoadPrefixTable(DataFile("caida-pfx2as-sample.txt"), {}, table);
  REQUIRE(stats.ok());
  CHECK(stats->format == PrefixFileFormat::kCaida);
  CHECK(stats->rows == 6);
  CHECK(stats->extra_origins == 4);
  CHECK(table.Exact(P("1.0.4.0/24")) == 38803u);
  CHECK(table.Exact(P("1.0.5.0/24")) == 38803u);
  CHECK(table.Exact(P("2001:db8:8000::/33")) == 64501u);
}

TEST_CASE("RIS whois dump rows", "[prefix_loader]") {
  Table table;
  auto stats = LoadPrefixTable(DataFile("ris-whois-sample.txt"), {}, table);
  REQUIRE(stats.ok());
  CHECK(stats->format == PrefixFileFormat::kRis);
  CHECK(stats->rows == 4);
  CHECK(stats->extra_origins == 1);
  CHECK(table.Exact(P("203.0.113.0/24")) == 64496u);
  CHECK(table.Exact(P("2001:67c:2e8::/48")) == 3333u);
}

TEST_CASE("a later row for the same prefix replaces it", "[prefix_loader]") {
  TempFile file("10.0.0.0/8\t1\n10.0.0.0/8\t2\n");
  Table table;
  auto stats = LoadPrefixTable(file.path(), {}, table);
  REQUIRE(stats.ok());
  CHECK(stats->duplicates == 1);
  CHECK(table.Exact(P("10.0.0.0/8")) == 2u);
}

struct BadCase {
  const char* text;
  int line;
  const char* says;
};

TEST_CASE("every bad row is an error naming the file and line",
          "[prefix_loader]") {
  const BadCase cases[] = {
      {"; c\n10.0.0.0/8\t1\n10.0.0.0/33\t2\n", 3, "length"},
      {"10.0.0.0/8\t1\n10.0.0.1/8\t2\n", 2, "bits set past the length"},
      {"10.0.0.0/8\t1\n10.0.0.0/8\n", 2, "expected 2 TAB-separated fields"},
      {"10.0.0.0/8\t1\n10.0.0.0/8\tAS1\n", 2, "invalid origin AS"},
      {"10.0.0.0/8\t4294967296\n", 1, "larger than 4294967295"},
      {"10.0.0.0/8\t1\n10.0.0.0/8\t1\textra\n", 2, "found 3"},
      {"10.0.0.0/8\t1_x\n", 1, "invalid origin AS"},
      {"# c\n\n1.0.0.0\t24\t1\n1.0.0.300\t24\t1\n", 4, "IPv4"},
      {"1.0.0.0\t24\t1\n1.0.0.0\tx\t1\n", 2, "invalid prefix length"},
      {"1.0.0.0\t24\t1\n1.0.0.0\t40\t1\n", 2, "length"},
      {"1.0.0.0\t24\t1\n1.0.0.1\t24\t1\n", 2, "bits set past the length"},
      {"% c\n1\t1.0.0.0/24\t5\n1\t1.0.0.0/24\tmany\n", 3, "invalid peer count"},
      {"% c\n1\t1.0.0.0/24\t5\n{}\t1.0.0.0/24\t5\n", 3, "invalid origin AS"},
      {"hello\n", 1, "unknown row shape"},
  };
  for (const BadCase& c : cases) {
    INFO(c.text);
    TempFile file(c.text);
    Table table;
    auto stats = LoadPrefixTable(file.path(), {}, table);
    REQUIRE_FALSE(stats.ok());
    std::string message(stats.status().message());
    CHECK(message.find(file.path() + ":" + std::to_string(c.line) + ": ") == 0);
    CHECK(message.find(c.says) != std::string::npos);
  }
}

TEST_CASE("skip_bad counts bad rows; mask clears host bits",
          "[prefix_loader]") {
  TempFile file(
      "10.0.0.0/8\t1\n10.0.0.1/8\t2\nbad\t3\n10.1.0.0/16\t4\n10.2.0.0/16\n");
  Table skipped;
  auto stats = LoadPrefixTable(file.path(), {.skip_bad = true}, skipped);
  REQUIRE(stats.ok());
  CHECK(stats->rows == 2);
  CHECK(stats->bad_rows == 3);
  CHECK(skipped.Exact(P("10.0.0.0/8")) == 1u);

  Table masked;
  stats =
      LoadPrefixTable(file.path(), {.skip_bad = true, .mask = true}, masked);
  REQUIRE(stats.ok());
  CHECK(stats->rows == 3);
  CHECK(stats->bad_rows == 2);
  CHECK(masked.Exact(P("10.0.0.0/8")) == 2u);
}

TEST_CASE("a missing file is an error naming it", "[prefix_loader]") {
  Table table;
  auto stats = LoadPrefixTable("/nonexistent/prefixes.dat", {}, table);
  REQUIRE_FALSE(stats.ok());
  CHECK(
      std::string(stats.status().message()).find("/nonexistent/prefixes.dat") !=
      std::string::npos);
}

}  // namespace
}  // namespace keel::core
