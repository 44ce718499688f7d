// The answer JSON's size bound (what lets keel serve stream an answer it
// knows fits its limit) and writing it in pieces.
#include "core/query/result_json.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

namespace keel::query {
namespace {

std::string Whole(const Value& value) {
  std::string out;
  REQUIRE(AppendResultJson(value, &out, [](std::size_t) { return true; }));
  return out;
}

// Values whose text is the longest of their kind: a sign, the most
// significant digits, the most leading zeros, both notations, specials.
const double kValues[] = {
    -1.0000000000000002e-6,
    -1.2345678901234567e-7,
    -9.999999999999999e20,
    -1.7976931348623157e308,
    -4.9406564584124654e-324,
    -0.1234567890123456,
    -123456789012.34567,
    0,
    std::numeric_limits<double>::quiet_NaN(),
    -std::numeric_limits<double>::infinity(),
};

TEST_CASE("a sample value's text is at most kMaxValueTextBytes") {
  for (double v : kValues) {
    std::string out;
    AppendValueText(v, &out);
    INFO(out);
    CHECK(out.size() <= kMaxValueTextBytes);
  }
  // Every power of ten, one ulp on either side, negative.
  for (int e = -330; e <= 310; ++e) {
    const double p = std::pow(10.0, e);
    for (double v : {std::nextafter(p, 0.0), p, std::nextafter(p, INFINITY)}) {
      std::string out;
      AppendValueText(-v, &out);
      INFO(out);
      CHECK(out.size() <= kMaxValueTextBytes);
    }
  }
}

TEST_CASE("ResultJsonBound is at least the answer's size, close for labels") {
  core::Labels escaped = {
      {"__name__", "m"}, {"path", "<a&b>\"\\\n\t\x01 \xE2\x80\xA8"}, {"z", ""}};
  Matrix m;
  m.push_back({escaped, {}});
  Series wide{{{"job", "a"}}, {}};
  for (double v : kValues) {
    wide.points.push_back({-1500, v});
    wide.points.push_back({1435781451781, v});
  }
  m.push_back(wide);
  m.push_back({{}, {{0, 1}}});
  Vector vec;
  for (double v : kValues) vec.push_back({escaped, -999999999999, v});
  const Value values[] = {
      m, vec, Vector{}, Matrix{}, Scalar{-1234567, -0.5}, String{1, "a\"b"}};
  for (const Value& value : values) {
    const std::size_t size = Whole(value).size();
    const std::size_t bound = ResultJsonBound(value);
    CHECK(bound >= size);
  }
  // With one series and no points, only the constant parts are counted
  // over: the labels' escapes are exact.
  const Value labels_only = Matrix{{escaped, {}}};
  CHECK(ResultJsonBound(labels_only) - Whole(labels_only).size() < 32);
}

TEST_CASE("charge may take what the answer holds: the pieces are the answer") {
  Matrix m;
  for (int s = 0; s < 50; ++s) {
    Series series{{{"i", std::to_string(s)}}, {}};
    for (int p = 0; p < 3000; ++p) {
      series.points.push_back({int64_t{p} * 15000 + s, p * 0.25 - s});
    }
    m.push_back(std::move(series));
  }
  const Value value = m;
  std::string pieces, out;
  std::size_t charged = 0;
  REQUIRE(AppendResultJson(value, &out, [&](std::size_t n) {
    charged += n;
    if (out.size() > 4096) {
      pieces += out;
      out.clear();
    }
    return true;
  }));
  pieces += out;
  const std::string whole = Whole(value);
  CHECK(pieces == whole);
  CHECK(charged == whole.size());
}

}  // namespace
}  // namespace keel::query
