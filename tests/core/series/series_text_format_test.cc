#include "core/series/series_text_format.h"

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/io/line_reader.h"
#include "tests/testing/gzip.h"
#include "tests/testing/temp_dir.h"

namespace keel::core {
namespace {

TextSample Parse(std::string_view line) {
  TextSample s;
  auto r = ParseSampleLine(line, s);
  INFO(std::string(line));
  REQUIRE(r.ok());
  REQUIRE(*r);
  return s;
}

std::string Error(std::string_view line) {
  TextSample s;
  auto r = ParseSampleLine(line, s);
  REQUIRE_FALSE(r.ok());
  return std::string(r.status().message());
}

TEST_CASE("sample lines parse into labels, value and timestamp") {
  TextSample s = Parse(
      R"(http_requests_total{method="post",code="200"} 1027 1395066363000)");
  REQUIRE(s.labels == Labels{{"__name__", "http_requests_total"},
                             {"method", "post"},
                             {"code", "200"}});
  REQUIRE(s.v == 1027);
  REQUIRE(s.t == 1395066363000);
  REQUIRE(Parse("up 1 -5").t == -5);
  REQUIRE(Parse("up{} -2.5e3 0").v == -2500);
  REQUIRE(Parse(R"({__name__="up",a="x"} +Inf 1)").v == INFINITY);
  REQUIRE(Parse("up -Inf 1").v == -INFINITY);
  REQUIRE(std::isnan(Parse("up NaN 1").v));
  REQUIRE(Parse(R"(up{a="q\"\\\n"} 1 1)").labels[1].value == "q\"\\\n");
  REQUIRE(Parse("  up  { a = \"x\" , }  1\t2\r").labels.size() == 2);
  TextSample skip;
  REQUIRE_FALSE(*ParseSampleLine("# HELP up x", skip));
  REQUIRE_FALSE(*ParseSampleLine("   ", skip));
  REQUIRE_FALSE(*ParseSampleLine("", skip));
}

TEST_CASE("bad lines say what is wrong and where") {
  CHECK(Error("up").find("expected a value") != std::string::npos);
  CHECK(Error("up 1").find("timestamp") != std::string::npos);
  CHECK(Error("up one 1").find("bad value \"one\"") != std::string::npos);
  CHECK(Error("up 1 1.5").find("bad timestamp") != std::string::npos);
  CHECK(Error("up 1 99999999999999999999").find("bad timestamp") !=
        std::string::npos);
  CHECK(Error("up 1 2 3").find("unexpected text") != std::string::npos);
  CHECK(Error(R"(up{a=1} 1 2)").find("at byte 5") != std::string::npos);
  CHECK(Error(R"(up{a="1" 1 2)").find("expected ',' or '}'") !=
        std::string::npos);
  CHECK(Error("9up 1 2").find("metric name") != std::string::npos);
}

TEST_CASE("formatted lines parse back to the same bits") {
  std::mt19937_64 rng(9);
  Labels labels = {{"__name__", "m"}, {"x", "a\"b\\c\nd"}};
  for (int i = 0; i < 5000; ++i) {
    double v = std::bit_cast<double>(rng());
    if (std::isnan(v)) continue;
    int64_t t = static_cast<int64_t>(rng());
    TextSample s = Parse(FormatSampleLine(labels, t, v));
    REQUIRE(std::bit_cast<uint64_t>(s.v) == std::bit_cast<uint64_t>(v));
    REQUIRE(s.t == t);
    REQUIRE(s.labels == labels);
  }
  const double kInf = std::numeric_limits<double>::infinity();
  for (double v : {0.0, -0.0, kInf, -kInf, 1e-320, 0.1}) {
    REQUIRE(std::bit_cast<uint64_t>(Parse(FormatSampleLine(labels, 1, v)).v) ==
            std::bit_cast<uint64_t>(v));
  }
}

TEST_CASE("ImportTextFile stores a capture and counts what it refused") {
  SeriesStore store;
  auto s = ImportTextFile(KEEL_TEST_DATA_DIR "/series_sample.txt", store);
  REQUIRE(s.ok());
  CHECK(s->lines == 15);
  CHECK(s->samples == 11);
  CHECK(s->appended == 8);
  CHECK(s->duplicates == 1);
  CHECK(s->conflicts == 1);
  CHECK(s->out_of_order == 1);
  CHECK(s->new_series == 4);
  CHECK(s->min_time == 1700000000000);
  CHECK(s->max_time == 1700000030000);
  CHECK(store.Stats().samples == 8);
}

TEST_CASE("ImportTextFile names the file and line of a bad line") {
  SeriesStore store;
  auto s = ImportTextFile(KEEL_TEST_DATA_DIR "/series_bad_line.txt", store);
  REQUIRE_FALSE(s.ok());
  std::string message(s.status().message());
  INFO(message);
  REQUIRE(message.find("series_bad_line.txt:4: at byte 14") !=
          std::string::npos);
  REQUIRE(store.Stats().samples == 2);  // the lines before it
  auto missing = ImportTextFile("/nonexistent/x.txt", store);
  REQUIRE(missing.status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("ImportTextFile stops at a line over the limit, naming it") {
  testing::TempDir dir("series_text_format_test");
  // Valid samples, then what `cat valid.txt /dev/zero` gives: NULs without
  // a newline. getline took its allocation failure for the end of the file.
  std::string path =
      dir.Write("endless.txt",
                "up{job=\"a\"} 1 1700000000000\nup{job=\"b\"} 1 "
                "1700000000000\n" +
                    std::string(LineReader::kMaxLineBytes + 1, '\0'));
  SeriesStore store;
  auto s = ImportTextFile(path, store);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() ==
        absl::StrCat(path, ":3: line longer than the limit of ",
                     LineReader::kMaxLineBytes, " bytes"));
  CHECK(store.Stats().samples == 2);
}

TEST_CASE("ImportTextFile reads gzip") {
  testing::TempDir dir("series_text_format_test");
  std::string text = "up{job=\"a\"} 1 1700000000000\n";
  std::string gz = testing::Gzip(text);
  SeriesStore store;
  auto s = ImportTextFile(dir.Write("a.txt.gz", gz), store);
  REQUIRE(s.ok());
  CHECK(s->appended == 1);
}

TEST_CASE(
    "ForEachSampleInFile skips comments and names the line of an error from "
    "its callback") {
  testing::TempDir dir("series_text_format_test");
  std::string path = dir.Write("a.txt",
                               "# HELP\n"
                               "up{job=\"a\"} 1 1700000000000\n"
                               "\n"
                               "up{job=\"b\"} 2 1700000000000\n"
                               "up{job=\"c\"} 3 1700000000000\n");
  std::vector<double> values;
  auto lines = ForEachSampleInFile(path, [&](TextSample& s) {
    values.push_back(s.v);
    return absl::OkStatus();
  });
  REQUIRE(lines.ok());
  CHECK(*lines == 5);
  CHECK(values == std::vector<double>{1, 2, 3});

  values.clear();
  auto stopped = ForEachSampleInFile(path, [&](TextSample& s) {
    values.push_back(s.v);
    return s.v == 2 ? absl::ResourceExhaustedError("full") : absl::OkStatus();
  });
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(stopped.status().message() == absl::StrCat(path, ":4: full"));
  CHECK(values == std::vector<double>{1, 2});
}

}  // namespace
}  // namespace keel::core
