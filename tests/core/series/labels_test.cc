#include "core/series/labels.h"

#include <catch2/catch.hpp>

namespace keel::core {
namespace {

TEST_CASE("label names follow [a-zA-Z_][a-zA-Z0-9_]*") {
  CHECK(IsValidLabelName("job"));
  CHECK(IsValidLabelName("_x9"));
  CHECK(IsValidLabelName("__name__"));
  CHECK_FALSE(IsValidLabelName(""));
  CHECK_FALSE(IsValidLabelName("9x"));
  CHECK_FALSE(IsValidLabelName("a:b"));
  CHECK_FALSE(IsValidLabelName("a-b"));
  CHECK_FALSE(IsValidLabelName("é"));
  CHECK(IsValidMetricName("node:cpu:rate5m"));
  CHECK(IsValidMetricName(":x"));
  CHECK_FALSE(IsValidMetricName("1x"));
  CHECK_FALSE(IsValidMetricName("a b"));
}

TEST_CASE("NormalizeLabels sorts, drops empty values and checks limits") {
  Labels labels = {{"job", "api"}, {"__name__", "up"}, {"empty", ""}};
  REQUIRE(NormalizeLabels(labels, LabelLimits()).ok());
  REQUIRE(labels == Labels{{"__name__", "up"}, {"job", "api"}});

  LabelLimits limits;
  limits.max_name_bytes = 4;
  Labels long_name = {{"toolong", "x"}};
  auto s = NormalizeLabels(long_name, limits);
  REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(std::string(s.message()).find("toolong") != std::string::npos);

  Labels twice = {{"a", "1"}, {"a", "2"}};
  REQUIRE_FALSE(NormalizeLabels(twice, LabelLimits()).ok());
  Labels only_empty = {{"a", ""}};
  REQUIRE_FALSE(NormalizeLabels(only_empty, LabelLimits()).ok());
}

TEST_CASE("LabelsToString writes the text format with escapes") {
  REQUIRE(LabelsToString({{"__name__", "up"}, {"job", "a\"b\\c\nd"}}) ==
          "up{job=\"a\\\"b\\\\c\\nd\"}");
  REQUIRE(LabelsToString({{"a", "1"}, {"b", "2"}}) == "{a=\"1\",b=\"2\"}");
  REQUIRE(LabelsToString({{"__name__", "up"}}) == "up{}");
}

}  // namespace
}  // namespace keel::core
