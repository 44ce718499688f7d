#include "core/ranges/range_table.h"

#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/ranges/range_table_builder.h"
#include "tests/testing/temp_dir.h"

namespace keel::core {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

using u128 = unsigned __int128;

const std::string kData = KEEL_TEST_DATA_DIR;
const std::string kV4 = kData + "/ip2asn-v4-sample.tsv";
const std::string kV6 = kData + "/ip2asn-v6-sample.tsv";

// The plain reference: the fixture's rows, parsed here on their own.
struct Row {
  bool v6;
  u128 first, last;
  uint32_t asn;
  std::string country, name;
};

std::vector<Row> ReadTsv(const std::string& path) {
  std::vector<Row> rows;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    size_t begin = 0;
    for (size_t tab; (tab = line.find('\t', begin)) != std::string::npos;
         begin = tab + 1) {
      f.push_back(line.substr(begin, tab - begin));
    }
    f.push_back(line.substr(begin));
    REQUIRE(f.size() == 5);
    auto first = IpAddress::Parse(f[0]);
    auto last = IpAddress::Parse(f[1]);
    REQUIRE(first.ok());
    REQUIRE(last.ok());
    uint32_t asn = static_cast<uint32_t>(std::stoul(f[2]));
    if (asn == 0) continue;  // a gap
    rows.push_back({first->is_v6(), first->bits(), last->bits(), asn,
                    f[3] == "None" ? "" : f[3], f[4]});
  }
  return rows;
}

const Row* Find(const std::vector<Row>& rows, const IpAddress& a) {
  for (const Row& r : rows) {
    if (r.v6 == a.is_v6() && r.first <= a.bits() && a.bits() <= r.last) {
      return &r;
    }
  }
  return nullptr;
}

IpAddress Make(bool v6, u128 bits) {
  return v6 ? IpAddress(Ipv6(bits))
            : IpAddress(Ipv4(static_cast<uint32_t>(bits)));
}

// Every row's edges and their neighbours, the family edges, and random
// addresses near the rows.
std::vector<IpAddress> Queries(const std::vector<Row>& rows) {
  std::vector<IpAddress> q = {
      *IpAddress::Parse("0.0.0.0"), *IpAddress::Parse("255.255.255.255"),
      *IpAddress::Parse("::"),
      *IpAddress::Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")};
  std::mt19937_64 random(7);
  for (const Row& r : rows) {
    u128 max = r.v6 ? ~u128{0} : 0xffffffffu;
    for (u128 a : {r.first, r.last, r.first + (r.last - r.first) / 2}) {
      q.push_back(Make(r.v6, a));
    }
    if (r.first > 0) q.push_back(Make(r.v6, r.first - 1));
    if (r.last < max) q.push_back(Make(r.v6, r.last + 1));
    u128 span = r.last - r.first;
    u128 x = u128{random()} << 64 | random();
    q.push_back(Make(r.v6, r.first + (span == ~u128{0} ? x : x % (span + 1))));
  }
  for (int i = 0; i < 2000; ++i) {
    q.push_back(Ipv4(static_cast<uint32_t>(random())));
    q.push_back(Ipv6(u128{random()} << 64 | random()));
  }
  return q;
}

void CheckAgainst(const RangeTable& table, const std::vector<Row>& rows) {
  std::vector<IpAddress> queries = Queries(rows);
  for (const IpAddress& a : queries) {
    INFO(a.ToString());
    const Row* want = Find(rows, a);
    auto got = table.Lookup(a);
    REQUIRE(got.has_value() == (want != nullptr));
    if (want == nullptr) continue;
    CHECK(got->record.asn == want->asn);
    CHECK(got->record.country == want->country);
    CHECK(got->record.name == want->name);
    CHECK(got->first == Make(want->v6, want->first));
    CHECK(got->last == Make(want->v6, want->last));
  }
  // Batches answer as single lookups do.
  std::vector<Ipv4> v4;
  std::vector<Ipv6> v6;
  for (const IpAddress& a : queries) {
    if (a.is_v4())
      v4.push_back(a.v4());
    else
      v6.push_back(a.v6());
  }
  std::vector<std::optional<RangeRecord>> out(std::max(v4.size(), v6.size()));
  table.LookupBatch(v4, out);
  for (size_t i = 0; i < v4.size(); ++i) {
    auto single = table.Lookup(v4[i]);
    REQUIRE(out[i].has_value() == single.has_value());
    if (single) CHECK(*out[i] == single->record);
  }
  table.LookupBatch(v6, out);
  for (size_t i = 0; i < v6.size(); ++i) {
    auto single = table.Lookup(v6[i]);
    REQUIRE(out[i].has_value() == single.has_value());
    if (single) CHECK(*out[i] == single->record);
  }
}

RangeTable Load(const std::vector<std::string>& paths,
                OverlapPolicy overlap = OverlapPolicy::kError) {
  RangeTableBuilder builder(overlap);
  for (const std::string& p : paths) REQUIRE(builder.AddFile(p).ok());
  auto table = std::move(builder).Build();
  REQUIRE(table.ok());
  return std::move(*table);
}

std::vector<Row> Both() {
  std::vector<Row> rows = ReadTsv(kV4);
  std::vector<Row> v6 = ReadTsv(kV6);
  rows.insert(rows.end(), v6.begin(), v6.end());
  return rows;
}

TEST_CASE("RangeTable answers as the plain reference over the fixtures") {
  RangeTable table = Load({kV4, kV6});
  std::vector<Row> rows = Both();
  CheckAgainst(table, rows);
  CHECK(table.records() > 0);
  CHECK(table.table_bytes() > 0);
  CHECK_FALSE(table.is_mapped());
  // The fixture keeps rows not starting on a /64.
  CHECK(std::any_of(rows.begin(), rows.end(), [](const Row& r) {
    return r.v6 && static_cast<uint64_t>(r.first) != 0;
  }));
}

TEST_CASE("ForEachRange lists every range in address order") {
  RangeTable table = Load({kV6, kV4});
  std::vector<Row> rows = Both();
  size_t i = 0;
  table.ForEachRange([&](const IpAddress& first, const IpAddress& last,
                         const RangeRecord& record) {
    REQUIRE(i < rows.size());
    CHECK(first == Make(rows[i].v6, rows[i].first));
    CHECK(last == Make(rows[i].v6, rows[i].last));
    CHECK(record.asn == rows[i].asn);
    ++i;
  });
  CHECK(i == rows.size());
}

TEST_CASE("unsorted and gzip input give the same table") {
  TempDir dir("range_table_test");
  std::string text = ReadFile(kV4) + ReadFile(kV6);
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::shuffle(lines.begin(), lines.end(), std::mt19937_64(3));
  std::string shuffled;
  for (const std::string& l : lines) shuffled += l + "\n";
  std::string plain = dir.File("shuffled.tsv");
  WriteFile(plain, shuffled);
  CheckAgainst(Load({plain}), Both());

  std::string gz = dir.File("shuffled.data");  // no .gz: found by content
  gzFile f = gzopen(gz.c_str(), "wb");
  REQUIRE(f != nullptr);
  gzwrite(f, shuffled.data(), static_cast<unsigned>(shuffled.size()));
  gzclose(f);
  CheckAgainst(Load({gz}), Both());
}

TEST_CASE("an asn CSV and a country CSV combine field by field") {
  RangeTable from_tsv = Load({kV4});
  RangeTable from_csv = Load(
      {kData + "/ip2asn-asn-sample.csv", kData + "/ip2asn-country-sample.csv"});
  for (const IpAddress& a : Queries(ReadTsv(kV4))) {
    if (a.is_v6()) continue;
    INFO(a.ToString());
    auto want = from_tsv.Lookup(a);
    auto got = from_csv.Lookup(a);
    REQUIRE(got.has_value() == want.has_value());
    if (!want) continue;
    CHECK(got->record == want->record);
    CHECK(got->first == want->first);
    CHECK(got->last == want->last);
  }
  // One file alone gives only its fields.
  RangeTable countries = Load({kData + "/ip2asn-country-sample.csv"});
  auto cloudflare = countries.Lookup(*IpAddress::Parse("1.0.0.1"));
  REQUIRE(cloudflare.has_value());
  CHECK(cloudflare->record.asn == 0);
  CHECK(cloudflare->record.country == "AU");
  CHECK(cloudflare->record.name.empty());
}

TEST_CASE("an empty builder makes a table of gaps") {
  auto table = RangeTableBuilder().Build();
  REQUIRE(table.ok());
  CHECK_FALSE(table->Lookup(*IpAddress::Parse("1.2.3.4")).has_value());
  CHECK_FALSE(table->Lookup(*IpAddress::Parse("::")).has_value());
  CHECK(table->records() == 0);
}

TEST_CASE("ranges covering whole families and single addresses") {
  RangeTableBuilder builder;
  RangeFields f;
  f.sets_as = true;
  f.asn = 1;
  f.name = "all";
  REQUIRE(builder
              .AddRange(*IpAddress::Parse("0.0.0.0"),
                        *IpAddress::Parse("255.255.255.255"), f)
              .ok());
  f.asn = 2;
  f.name = "one";
  REQUIRE(
      builder.AddRange(*IpAddress::Parse("::1"), *IpAddress::Parse("::1"), f)
          .ok());
  f.asn = 3;
  f.name = "top";
  REQUIRE(builder
              .AddRange(
                  *IpAddress::Parse("ffff::"),
                  *IpAddress::Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                  f)
              .ok());
  auto table = std::move(builder).Build();
  REQUIRE(table.ok());
  auto all = table->Lookup(*IpAddress::Parse("255.255.255.255"));
  REQUIRE(all.has_value());
  CHECK(all->first.ToString() == "0.0.0.0");
  CHECK(all->last.ToString() == "255.255.255.255");
  auto one = table->Lookup(*IpAddress::Parse("::1"));
  REQUIRE(one.has_value());
  CHECK(one->record.name == "one");
  CHECK(one->first == one->last);
  CHECK_FALSE(table->Lookup(*IpAddress::Parse("::2")).has_value());
  CHECK_FALSE(table->Lookup(*IpAddress::Parse("::")).has_value());
  auto top = table->Lookup(*IpAddress::Parse("ffff:ffff::1"));
  REQUIRE(top.has_value());
  CHECK(top->record.asn == 3);
  CHECK(top->last.ToString() == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

// Overlapping rows over a small universe, against painting every address.
TEST_CASE("overlap first and last paint as a per-address reference does") {
  for (OverlapPolicy policy : {OverlapPolicy::kFirst, OverlapPolicy::kLast}) {
    for (bool v6 : {false, true}) {
      std::mt19937_64 random(policy == OverlapPolicy::kFirst ? 11 : 12);
      constexpr int kUniverse = 512;
      const u128 base = v6 ? (u128{0x20010db8} << 96) | 0xfff0 : 0x0a000000;
      std::vector<int> paint(kUniverse, 0);  // row number + 1, 0 for none
      RangeTableBuilder builder(policy);
      for (int row = 1; row <= 60; ++row) {
        int first = 16 + static_cast<int>(random() % 460);
        int last =
            std::min(kUniverse - 17, first + static_cast<int>(random() % 40));
        RangeFields f;
        f.sets_as = f.sets_country = true;
        f.asn = static_cast<uint32_t>(row % 7 + 1);  // records repeat
        f.name = "n";
        f.country = "NZ";
        REQUIRE(builder
                    .AddRange(Make(v6, base + first), Make(v6, base + last), f,
                              "synthetic", row)
                    .ok());
        for (int a = first; a <= last; ++a) {
          if (policy == OverlapPolicy::kLast || paint[a] == 0) paint[a] = row;
        }
      }
      auto table = std::move(builder).Build();
      REQUIRE(table.ok());
      for (int a = 0; a < kUniverse; ++a) {
        INFO("offset " << a);
        auto got = table->Lookup(Make(v6, base + a));
        REQUIRE(got.has_value() == (paint[a] != 0));
        if (!got) continue;
        uint32_t asn = static_cast<uint32_t>(paint[a] % 7 + 1);
        CHECK(got->record.asn == asn);
        // The range is the maximal run of addresses with that record.
        int lo = a, hi = a;
        auto same = [&](int b) {
          return paint[b] != 0 &&
                 static_cast<uint32_t>(paint[b] % 7 + 1) == asn;
        };
        while (same(lo - 1)) --lo;
        while (same(hi + 1)) ++hi;
        CHECK(got->first == Make(v6, base + lo));
        CHECK(got->last == Make(v6, base + hi));
      }
    }
  }
}

// Past 65,534 records, IPv4 rows escape to the overflow list; every
// answer, built or from an image, is still the row's own.
TEST_CASE("record indices past 16 bits answer through the overflow list") {
  TempDir dir("range_table_test");
  constexpr uint32_t kRanges = 70000;
  constexpr uint32_t kBase = 0x01000000;
  auto first_of = [](uint32_t i) { return kBase + i * 256; };
  // Sizes differ so that coverage orders the records, and leave gaps.
  auto last_of = [&](uint32_t i) { return first_of(i) + (i % 5 + 1) * 32 - 1; };
  RangeTableBuilder builder;
  for (uint32_t i = 0; i < kRanges; ++i) {
    RangeFields f;
    f.sets_as = true;
    f.asn = i + 1;
    REQUIRE(builder.AddRange(Ipv4(first_of(i)), Ipv4(last_of(i)), f).ok());
  }
  auto built = std::move(builder).Build();
  REQUIRE(built.ok());
  REQUIRE(built->records() == kRanges);
  std::string path = dir.File("overflow.keel");
  REQUIRE(built->Save(path).ok());
  auto mapped = RangeTable::OpenMapped(path);
  REQUIRE(mapped.ok());
  for (const RangeTable* table : {&*built, &*mapped}) {
    for (uint32_t i = 0; i < kRanges; ++i) {
      INFO("range " << i);
      for (uint32_t a : {first_of(i), last_of(i)}) {
        auto got = table->Lookup(Ipv4(a));
        REQUIRE(got.has_value());
        CHECK(got->record.asn == i + 1);
        CHECK(got->first == Ipv4(first_of(i)));
        CHECK(got->last == Ipv4(last_of(i)));
      }
      CHECK_FALSE(table->Lookup(Ipv4(last_of(i) + 1)).has_value());
    }
  }
}

// A /48 split into hundreds of ranges (the ip2asn feed has one in 1,294
// rows), some starting inside a /64 (the exception list): every answer,
// built or from an image, single or batched, is the range's own.
TEST_CASE("a finely split IPv6 /48 answers range by range") {
  TempDir dir("range_table_test");
  const u128 base = u128{0x20010db812340000ull} << 64;  // 2001:db8:1234::/48
  struct Range {
    u128 first, last;
    uint32_t asn;
  };
  std::vector<Range> ranges;
  // The /48's first address starts none of them: its first row is a gap.
  for (uint32_t i = 0; i < 600; ++i) {
    u128 first = base + (u128{i * 3 + 1} << 64);  // a /64 every third
    if (i % 4 == 3) first += u128{1} << 40;       // or inside a /64
    ranges.push_back({first, first + (u128{1} << 63) - 1, i + 1});
  }
  ranges.push_back({base + (u128{1} << 80), base + (u128{2} << 80) - 1, 9999});
  RangeTableBuilder builder;
  for (const Range& r : ranges) {
    RangeFields f;
    f.sets_as = true;
    f.asn = r.asn;
    REQUIRE(builder.AddRange(Ipv6(r.first), Ipv6(r.last), f).ok());
  }
  auto built = std::move(builder).Build();
  REQUIRE(built.ok());
  std::string path = dir.File("shared48.keel");
  REQUIRE(built->Save(path).ok());
  auto mapped = RangeTable::OpenMapped(path);
  REQUIRE(mapped.ok());
  for (const RangeTable* table : {&*built, &*mapped}) {
    CHECK_FALSE(table->Lookup(Ipv6(base)).has_value());
    for (const Range& r : ranges) {
      INFO("range " << r.asn);
      for (u128 a : {r.first, r.first + 12345, r.last}) {
        auto got = table->Lookup(Ipv6(a));
        REQUIRE(got.has_value());
        CHECK(got->record.asn == r.asn);
        CHECK(got->first == Ipv6(r.first));
        CHECK(got->last == Ipv6(r.last));
      }
      CHECK_FALSE(table->Lookup(Ipv6(r.first - 1)).has_value());
      CHECK_FALSE(table->Lookup(Ipv6(r.last + 1)).has_value());
      std::vector<Ipv6> batch = {Ipv6(r.first - 1), Ipv6(r.first), Ipv6(r.last),
                                 Ipv6(r.last + 1)};
      std::vector<std::optional<RangeRecord>> out(batch.size());
      table->LookupBatch(batch, out);
      CHECK_FALSE(out[0].has_value());
      REQUIRE(out[1].has_value());
      CHECK(out[1]->asn == r.asn);
      REQUIRE(out[2].has_value());
      CHECK(out[2]->asn == r.asn);
      CHECK_FALSE(out[3].has_value());
    }
  }
}

}  // namespace
}  // namespace keel::core
