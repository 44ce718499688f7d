// The PromQL parser against Prometheus 2.42's behaviour: what each
// expression prints as (its canonical form), that printing then parsing
// changes nothing, and what the tree holds. What bad expressions say is in
// parser_errors_test.cc.
#include "core/query/parser.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "core/query/functions.h"
#include "core/query/printer.h"

namespace keel::query {
namespace {

struct Case {
  const char* input;
  const char* printed;
};

// Inputs and the form Prometheus' printer gives them.
const Case kPrinted[] = {
    // Numbers.
    {"1", "1"},
    {"+1", "1"},
    {"-1", "-1"},
    {".5", "0.5"},
    {"5.", "5"},
    {"1.5e3", "1500"},
    {"1e6", "1e+06"},
    {"123456", "123456"},
    {"1234567", "1.234567e+06"},
    {"0.0001", "0.0001"},
    {"0.00001", "1e-05"},
    {"1E-3", "0.001"},
    {"0x1F", "31"},
    {"0X10", "16"},
    {"010", "8"},
    {"09", "9"},
    {"Inf", "+Inf"},
    {"-inf", "-Inf"},
    {"+Inf", "+Inf"},
    {"NaN", "NaN"},
    {"nan", "NaN"},
    {"9223372036854775808", "9.223372036854776e+18"},
    {"-0", "-0"},
    {"1 # a comment", "1"},
    // Strings.
    {R"("abc")", R"("abc")"},
    {"'abc'", R"("abc")"},
    {"`a\\b`", R"("a\\b")"},
    {R"("a\"b")", R"("a\"b")"},
    {R"('a\'b')", R"("a'b")"},
    {R"("\n\t\\")", R"("\n\t\\")"},
    {R"("\x41\101\u00e9\U0001F600")", "\"AA\u00e9\U0001F600\""},
    {R"("\a\b\f\v\r")", R"("\a\b\f\v\r")"},
    {R"("\x00")", R"("\x00")"},
    {R"("\xff")", R"("\xff")"},
    // Selectors.
    {"foo", "foo"},
    {"foo:bar:rate5m", "foo:bar:rate5m"},
    {"foo{}", "foo"},
    {R"(foo{a="b"})", R"(foo{a="b"})"},
    {R"(foo{b="1",a="2"})", R"(foo{a="2",b="1"})"},
    {R"(foo{a!="b", c=~"d.*", e!~'f',})", R"(foo{a!="b",c=~"d.*",e!~"f"})"},
    {R"({__name__="foo"})", R"({__name__="foo"})"},
    {R"({__name__=~"foo|bar"})", R"({__name__=~"foo|bar"})"},
    {R"({job="x"})", R"({job="x"})"},
    {R"({a="", b="c"})", R"({a="",b="c"})"},
    {"sum{a=\"b\"}", R"(sum{a="b"})"},
    {"by", "by"},
    {"without", "without"},
    {"offset", "offset"},
    {"start", "start"},
    {"end", "end"},
    {"count offset 5m", "count offset 5m"},
    {"foo{a=`x\\y`}", R"(foo{a="x\\y"})"},
    {"foo{ # c\n a = \"b\" }", R"(foo{a="b"})"},
    // Offsets and @.
    {"foo offset 5m", "foo offset 5m"},
    {"foo OFFSET 1h30m", "foo offset 1h30m"},
    {"foo offset 90m", "foo offset 1h30m"},
    {"foo offset -5m", "foo offset -5m"},
    {"foo offset 7d", "foo offset 1w"},
    {"foo offset 8d", "foo offset 8d"},
    {"foo offset 365d", "foo offset 1y"},
    {"foo offset 1y2w", "foo offset 379d"},
    {"foo offset 2y", "foo offset 2y"},
    {"foo offset 500ms", "foo offset 500ms"},
    {"foo offset 1500ms", "foo offset 1s500ms"},
    {"foo offset 60s", "foo offset 1m"},
    {"foo @ 1603774568", "foo @ 1603774568.000"},
    {"foo @ 1.5", "foo @ 1.500"},
    {"foo @ -100", "foo @ -100.000"},
    {"foo @ +100", "foo @ 100.000"},
    {"foo @ 0x10", "foo @ 16.000"},
    {"foo @ 1.0005", "foo @ 1.001"},
    {"foo @ start()", "foo @ start()"},
    {"foo @ end()", "foo @ end()"},
    {"foo @ 10 offset 5m", "foo @ 10.000 offset 5m"},
    {"foo offset 5m @ 10", "foo @ 10.000 offset 5m"},
    {"foo offset 5m @ end()", "foo @ end() offset 5m"},
    // Range selectors.
    {"foo[5m]", "foo[5m]"},
    {"foo[ 5m ]", "foo[5m]"},
    {"foo[300s]", "foo[5m]"},
    {"foo[1h30m]", "foo[1h30m]"},
    {R"(foo{a="b"}[5m] offset 1h)", R"(foo{a="b"}[5m] offset 1h)"},
    {"foo[5m] @ 100", "foo[5m] @ 100.000"},
    {"foo[5m] @ 100 offset -1m", "foo[5m] @ 100.000 offset -1m"},
    {"foo[5m] offset 1m @ start()", "foo[5m] @ start() offset 1m"},
    {"foo @ start() [5m]", "foo[5m] @ start()"},
    // Subqueries.
    {"foo[5m:1m]", "foo[5m:1m]"},
    {"foo[5m:]", "foo[5m:]"},
    {"foo[5m x]", "foo[5m:]"},
    {"rate(foo[5m])[30m:1m]", "rate(foo[5m])[30m:1m]"},
    {"sum(foo)[1h:5m] offset 1h", "sum(foo)[1h:5m] offset 1h"},
    {"(foo + bar)[5m:] @ end()", "(foo + bar)[5m:] @ end()"},
    {"foo[5m:] @ 10 offset 1m", "foo[5m:] @ 10.000 offset 1m"},
    {"min_over_time(rate(foo[1m])[5m:])[1h:]",
     "min_over_time(rate(foo[1m])[5m:])[1h:]"},
    {"max_over_time((foo offset 1m)[5m:30s])",
     "max_over_time((foo offset 1m)[5m:30s])"},
    // Unary operators.
    {"-foo", "-foo"},
    {"+foo", "+foo"},
    {"- foo", "-foo"},
    {"--foo", "--foo"},
    {"-(1)", "-(1)"},
    {"- -1", "1"},
    {"-1 ^ 2", "-1 ^ 2"},
    {"-foo ^ 2", "-foo ^ 2"},
    {"-foo * 2", "-foo * 2"},
    {"2 ^ -1", "2 ^ -1"},
    {"-foo offset 5m", "-foo offset 5m"},
    {"-foo @ 5", "-foo @ 5.000"},
    // Binary operators.
    {"1 + 1", "1 + 1"},
    {"1+1", "1 + 1"},
    {"1 - -1", "1 - -1"},
    {"foo * bar", "foo * bar"},
    {"foo / 2", "foo / 2"},
    {"foo % 3", "foo % 3"},
    {"foo ^ 2", "foo ^ 2"},
    {"foo atan2 bar", "foo atan2 bar"},
    {"foo ATAN2 bar", "foo atan2 bar"},
    {"foo == 1", "foo == 1"},
    {"foo != bar", "foo != bar"},
    {"foo <= 1", "foo <= 1"},
    {"foo < 1", "foo < 1"},
    {"foo >= 1", "foo >= 1"},
    {"foo > 1", "foo > 1"},
    {"foo > bool 1", "foo > bool 1"},
    {"1 == bool 1", "1 == bool 1"},
    {"1 < bool 2", "1 < bool 2"},
    {"foo and bar", "foo and bar"},
    {"foo or bar", "foo or bar"},
    {"foo unless bar", "foo unless bar"},
    {"foo AND bar", "foo and bar"},
    {"foo and and", "foo and and"},
    {"foo + on(a) bar", "foo + on (a) bar"},
    {"foo + on() bar", "foo + on () bar"},
    {"foo + ignoring(a, b) bar", "foo + ignoring (a, b) bar"},
    {"foo + ignoring() bar", "foo + bar"},
    {"foo * on(a) group_left bar", "foo * on (a) group_left () bar"},
    {"foo * on(a) group_left(b, c) bar", "foo * on (a) group_left (b, c) bar"},
    {"foo * ignoring(a) group_right(b) bar",
     "foo * ignoring (a) group_right (b) bar"},
    {"foo == bool on(a) bar", "foo == bool on (a) bar"},
    {"foo and on(a) bar", "foo and on (a) bar"},
    {"foo or ignoring(a) bar", "foo or ignoring (a) bar"},
    {"foo + on(sum, by, on, bool, offset, start) bar",
     "foo + on (sum, by, on, bool, offset, start) bar"},
    {"foo + on(a,) bar", "foo + on (a) bar"},
    // Precedence and associativity.
    {"1 + 2 * 3", "1 + 2 * 3"},
    {"(1 + 2) * 3", "(1 + 2) * 3"},
    {"2 ^ 3 ^ 2", "2 ^ 3 ^ 2"},
    {"(2 ^ 3) ^ 2", "(2 ^ 3) ^ 2"},
    {"a - b - c", "a - b - c"},
    {"a - (b - c)", "a - (b - c)"},
    {"a or b and c unless d", "a or b and c unless d"},
    {"a > b + c", "a > b + c"},
    {"a + b offset 5m", "a + b offset 5m"},
    {"a / b * c % d atan2 e", "a / b * c % d atan2 e"},
    {"((foo))", "((foo))"},
    // Aggregations.
    {"sum(foo)", "sum(foo)"},
    {"SUM(foo)", "sum(foo)"},
    {"sum by (job) (foo)", "sum by (job) (foo)"},
    {"sum(foo) by (job)", "sum by (job) (foo)"},
    {"sum by (job, instance) (foo)", "sum by (job, instance) (foo)"},
    {"sum by () (foo)", "sum(foo)"},
    {"sum without () (foo)", "sum without () (foo)"},
    {"sum without (job) (foo)", "sum without (job) (foo)"},
    {"sum(foo) without (job,)", "sum without (job) (foo)"},
    {"avg(foo)", "avg(foo)"},
    {"count(foo)", "count(foo)"},
    {"min(foo)", "min(foo)"},
    {"max(foo)", "max(foo)"},
    {"group(foo)", "group(foo)"},
    {"stddev(foo)", "stddev(foo)"},
    {"stdvar(foo)", "stdvar(foo)"},
    {"topk(5, foo)", "topk(5, foo)"},
    {"bottomk by (a) (3, foo)", "bottomk by (a) (3, foo)"},
    {"quantile(0.9, foo)", "quantile(0.9, foo)"},
    {"count_values(\"v\", foo)", "count_values(\"v\", foo)"},
    {"count_values by (a) ('v', foo)", "count_values by (a) (\"v\", foo)"},
    {"topk(scalar(bar), foo)", "topk(scalar(bar), foo)"},
    {"sum by (job) (rate(http_requests_total[5m]))",
     "sum by (job) (rate(http_requests_total[5m]))"},
    {"sum(rate(foo[5m])) by (a) / sum(rate(bar[5m])) by (a)",
     "sum by (a) (rate(foo[5m])) / sum by (a) (rate(bar[5m]))"},
    // Function calls.
    {"time()", "time()"},
    {"pi()", "pi()"},
    {"rate(foo[5m])", "rate(foo[5m])"},
    {"irate(foo[5m])", "irate(foo[5m])"},
    {"increase(foo[1h])", "increase(foo[1h])"},
    {"delta(foo[5m])", "delta(foo[5m])"},
    {"idelta(foo[5m])", "idelta(foo[5m])"},
    {"deriv(foo[5m])", "deriv(foo[5m])"},
    {"predict_linear(foo[1h], 3600)", "predict_linear(foo[1h], 3600)"},
    {"resets(foo[1h])", "resets(foo[1h])"},
    {"changes(foo[1h])", "changes(foo[1h])"},
    {"avg_over_time(foo[5m])", "avg_over_time(foo[5m])"},
    {"quantile_over_time(0.5, foo[5m])", "quantile_over_time(0.5, foo[5m])"},
    {"absent_over_time(foo[5m])", "absent_over_time(foo[5m])"},
    {"present_over_time(foo[5m])", "present_over_time(foo[5m])"},
    {"histogram_quantile(0.9, rate(foo_bucket[1m]))",
     "histogram_quantile(0.9, rate(foo_bucket[1m]))"},
    {"histogram_quantile(0.9, sum by (le) (rate(foo_bucket[1m])))",
     "histogram_quantile(0.9, sum by (le) (rate(foo_bucket[1m])))"},
    {"abs(foo)", "abs(foo)"},
    {"clamp(foo, 0, 1)", "clamp(foo, 0, 1)"},
    {"clamp_min(foo, -1)", "clamp_min(foo, -1)"},
    {"round(foo)", "round(foo)"},
    {"round(foo, 0.5)", "round(foo, 0.5)"},
    {"label_replace(foo, \"dst\", \"$1\", \"src\", \"(.*)\")",
     "label_replace(foo, \"dst\", \"$1\", \"src\", \"(.*)\")"},
    {"label_join(foo, \"dst\", \",\", \"a\", \"b\", \"c\")",
     "label_join(foo, \"dst\", \",\", \"a\", \"b\", \"c\")"},
    {"label_join(foo, 'dst', '-')", "label_join(foo, \"dst\", \"-\")"},
    {"sort_desc(foo)", "sort_desc(foo)"},
    {"vector(1)", "vector(1)"},
    {"scalar(foo) + 1", "scalar(foo) + 1"},
    {"timestamp(foo)", "timestamp(foo)"},
    {"absent(nonexistent{job=\"x\"})", "absent(nonexistent{job=\"x\"})"},
    {"hour()", "hour()"},
    {"day_of_week(foo)", "day_of_week(foo)"},
    {"days_in_month(vector(time()))", "days_in_month(vector(time()))"},
    {"holt_winters(foo[1h], 0.5, 0.5)", "holt_winters(foo[1h], 0.5, 0.5)"},
    {"node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
     "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"},
    {"100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}"
     "[1m])))",
     "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}"
     "[1m])))"},
    {"up == 0\n", "up == 0"},
    // Found by fuzzing: an empty name matcher is not the name outside the
    // braces (Prometheus 2.42 drops it here, which changes the query).
    {"{a=\"b\",__name__=\"\"}", "{__name__=\"\",a=\"b\"}"},
    {"  foo\n  +\n  bar  ", "foo + bar"},
};

TEST_CASE("expressions print in Prometheus' canonical form") {
  STATIC_REQUIRE(std::size(kPrinted) >= 150);
  for (const Case& c : kPrinted) {
    INFO(c.input);
    auto e = ParseExpr(c.input);
    REQUIRE(e.ok());
    CHECK(ExprToString(**e) == c.printed);
  }
}

TEST_CASE("printing then parsing gives the same tree") {
  for (const Case& c : kPrinted) {
    INFO(c.input);
    auto first = ParseExpr(c.input);
    REQUIRE(first.ok());
    const std::string printed = ExprToString(**first);
    auto second = ParseExpr(printed);
    REQUIRE(second.ok());
    CHECK(ExprToString(**second) == printed);
    CHECK((*second)->Type() == (*first)->Type());
    CHECK((*second)->height == (*first)->height);
  }
}

TEST_CASE("the tree holds what the evaluator needs") {
  auto e = ParseExpr(
      "sum by (job) (rate(http_requests{code=~\"5..\"}[5m] offset -1m @ "
      "end())) / on (job) group_left (team) bar > bool 0.5");
  REQUIRE(e.ok());
  REQUIRE((*e)->kind() == ExprKind::kBinary);
  const auto& cmp = (*e)->As<BinaryExpr>();
  CHECK(cmp.op == BinaryOp::kGtr);
  CHECK(cmp.return_bool);
  CHECK(!cmp.matching.has_value());  // a scalar side: no vector matching
  const auto& div = cmp.lhs->As<BinaryExpr>();
  REQUIRE(div.matching.has_value());
  CHECK(div.matching->on);
  CHECK(div.matching->card == Cardinality::kManyToOne);
  CHECK(div.matching->matching_labels == std::vector<std::string>{"job"});
  CHECK(div.matching->include == std::vector<std::string>{"team"});
  const auto& sum = div.lhs->As<AggregateExpr>();
  CHECK(sum.op == AggregateOp::kSum);
  CHECK(sum.grouping == std::vector<std::string>{"job"});
  CHECK_FALSE(sum.without);
  const auto& rate = sum.expr->As<Call>();
  CHECK(rate.func == FindFunction("rate"));
  const auto& m = rate.args[0]->As<MatrixSelector>();
  CHECK(m.range_ms == 300000);
  CHECK(m.selector->time.offset_ms == -60000);
  CHECK(m.selector->time.at == AtModifier::kEnd);
  CHECK(m.selector->name == "http_requests");
  REQUIRE(m.selector->matchers.size() == 2);
  CHECK(m.selector->matchers.back().name() == "__name__");
  CHECK(m.selector->matchers[0].Matches("503"));
  CHECK_FALSE(m.selector->matchers[0].Matches("200"));
  // Positions are byte offsets into the input.
  CHECK((*e)->pos.start == 0);
  CHECK(rate.pos.start == 14);
  CHECK(m.pos.start == 19);

  auto set = ParseExpr("a and b");
  REQUIRE(set.ok());
  CHECK((*set)->As<BinaryExpr>().matching->card == Cardinality::kManyToMany);

  auto at = ParseExpr("foo @ 1.0005");
  REQUIRE(at.ok());
  CHECK((*at)->As<VectorSelector>().time.at_ms == 1001);  // Go's math.Round
  auto neg = ParseExpr("-(foo)");
  REQUIRE(neg.ok());
  CHECK((*neg)->As<UnaryExpr>().negate);
  auto folded = ParseExpr("-2");
  REQUIRE(folded.ok());
  CHECK((*folded)->As<NumberLiteral>().value == -2);
  CHECK((*folded)->pos.start == 0);
  auto sub = ParseExpr("foo[1h:]");
  REQUIRE(sub.ok());
  CHECK((*sub)->As<SubqueryExpr>().step_ms == 0);
}

TEST_CASE("types follow Prometheus") {
  auto type_of = [](const char* text) {
    auto e = ParseExpr(text);
    INFO(text);
    REQUIRE(e.ok());
    return (*e)->Type();
  };
  CHECK(type_of("1") == ValueType::kScalar);
  CHECK(type_of("\"a\"") == ValueType::kString);
  CHECK(type_of("foo") == ValueType::kVector);
  CHECK(type_of("foo[5m]") == ValueType::kMatrix);
  CHECK(type_of("foo[5m:]") == ValueType::kMatrix);
  CHECK(type_of("1 + 2 * 3") == ValueType::kScalar);
  CHECK(type_of("1 + foo") == ValueType::kVector);
  CHECK(type_of("-(1)") == ValueType::kScalar);
  CHECK(type_of("scalar(foo)") == ValueType::kScalar);
  CHECK(type_of("time()") == ValueType::kScalar);
  CHECK(type_of("sum(foo)") == ValueType::kVector);
}

TEST_CASE("inputs are bounded") {
  ParseLimits limits;
  limits.max_bytes = 16;
  auto long_input = ParseExpr("foo + bar + baz + qux", limits);
  REQUIRE_FALSE(long_input.ok());
  CHECK(std::string(long_input.status().message()) ==
        "parse error: the expression is 21 bytes, more than the limit of 16");

  // Nesting by parentheses, by a left-leaning chain and by unary signs: each
  // is refused before the tree gets deeper than the limit.
  limits = ParseLimits();
  limits.max_height = 8;
  CHECK(ParseExpr("((((((foo))))))", limits).ok());
  auto parens = ParseExpr("(((((((((foo)))))))))", limits);
  REQUIRE_FALSE(parens.ok());
  CHECK(std::string(parens.status().message())
            .find("expression nests more than 8 levels deep") !=
        std::string::npos);
  CHECK(ParseExpr("a+a+a+a+a+a+a", limits).ok());
  CHECK_FALSE(ParseExpr("a+a+a+a+a+a+a+a+a+a", limits).ok());
  CHECK_FALSE(ParseExpr("-------------foo", limits).ok());

  // The defaults take long chains and refuse absurd ones without
  // exhausting the stack.
  std::string chain = "a";
  for (int i = 0; i < 400; ++i) chain += "+a";
  CHECK(ParseExpr(chain).ok());
  std::string deep(100000, '(');
  auto too_deep = ParseExpr(deep + "1" + std::string(100000, ')'));
  REQUIRE_FALSE(too_deep.ok());
  CHECK(std::string(too_deep.status().message()) ==
        "1:513: parse error: expression nests more than 512 levels deep");
  std::string minus = "1";
  for (int i = 0; i < 20000; ++i) minus += "-{}-1";
  auto wide = ParseExpr(minus);
  REQUIRE_FALSE(wide.ok());

  limits = ParseLimits();
  limits.max_matchers = 2;
  CHECK(ParseExpr("foo{a=\"1\"}", limits).ok());
  auto many = ParseExpr("foo{a=\"1\",b=\"2\"}", limits);
  REQUIRE_FALSE(many.ok());
  CHECK(std::string(many.status().message()) ==
        "1:1: parse error: selector has 3 matchers, more than the limit of 2");
}

TEST_CASE("a lone selector parses into matchers") {
  auto m = ParseMetricSelector("up{job=\"node\", instance=~\"a.*\"}");
  REQUIRE(m.ok());
  REQUIRE(m->size() == 3);
  CHECK((*m)[0].ToString() == "job=\"node\"");
  CHECK((*m)[2].name() == "__name__");
  CHECK((*m)[2].value() == "up");
  CHECK(ParseMetricSelector("{}").ok());  // as Prometheus: no emptiness check
  auto bad = ParseMetricSelector("up + 1");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()) ==
        "1:4: parse error: unexpected <op:+>");
}

}  // namespace
}  // namespace keel::query
