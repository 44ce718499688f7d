// The PromQL parser's errors against Prometheus 2.42's: for each bad
// expression, the whole message and the position it names.
#include <catch2/catch.hpp>
#include <string>

#include "core/query/parser.h"

namespace keel::query {
namespace {

struct BadCase {
  const char* input;
  const char* error;  // the whole message, position first
};

const BadCase kErrors[] = {
    {"", "1:1: parse error: no expression found in input"},
    {"# just a comment\n", "1:1: parse error: no expression found in input"},
    {"1+", "1:3: parse error: unexpected end of input"},
    {"1 /", "1:4: parse error: unexpected end of input"},
    {".", "1:1: parse error: unexpected character: '.'"},
    {"2.5.", "1:4: parse error: unexpected character: '.'"},
    {"100..4", "1:5: parse error: unexpected number \".4\""},
    {"0deadbeef", "1:1: parse error: bad number or duration syntax: \"0de\""},
    {"*1", "1:1: parse error: unexpected <op:*>"},
    {"(1))", "1:5: parse error: unexpected right parenthesis ')'"},
    {"((1)", "1:5: parse error: unclosed left parenthesis"},
    {"(", "1:2: parse error: unclosed left parenthesis"},
    {"1e500",
     "1:1: parse error: error parsing number: strconv.ParseFloat: parsing "
     "\"1e500\": value out of range"},
    {"1e",
     "1:1: parse error: error parsing number: strconv.ParseFloat: "
     "parsing \"1e\": invalid syntax"},
    {"1 and 1",
     "1:1: parse error: set operator \"and\" not allowed in binary scalar "
     "expression"},
    {"1 == 1",
     "1:3: parse error: comparisons between scalars must use BOOL modifier"},
    {"1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"},
    {"1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"},
    {"-\"string\"",
     "1:1: parse error: unary expression only allowed on expressions of type "
     "scalar or instant vector, got \"string\""},
    {"-test[5m]",
     "1:1: parse error: unary expression only allowed on expressions of type "
     "scalar or instant vector, got \"range vector\""},
    {"1 offset 1d",
     "1:1: parse error: offset modifier must be preceded by an instant vector "
     "selector or range vector selector or a subquery"},
    {"foo offset 1s offset 2s",
     "1:1: parse error: offset may not be set multiple times"},
    {"a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"},
    {"foo and 1",
     "1:1: parse error: set operator \"and\" not allowed in binary scalar "
     "expression"},
    {"1 or on(bar) foo",
     "1:1: parse error: vector matching only allowed between instant "
     "vectors"},
    {"foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"},
    {"foo and on(bar) group_left(baz) bar",
     "1:1: parse error: no grouping allowed for \"and\" operation"},
    {"foo unless on(bar) group_right(baz) bar",
     "1:1: parse error: no grouping allowed for \"unless\" operation"},
    {"foo + on(instance) group_left(job,instance) bar",
     "1:5: parse error: label \"instance\" must not occur in ON and GROUP "
     "clause at once"},
    {"foo + bool bar",
     "1:5: parse error: bool modifier can only be used on comparison "
     "operators"},
    {"foo and bool 10",
     "1:5: parse error: bool modifier can only be used on comparison "
     "operators"},
    {"foo == on(a) bool bar", "1:14: parse error: unexpected <bool>"},
    {"foo + on bar",
     "1:10: parse error: unexpected identifier \"bar\" in grouping opts, "
     "expected \"(\""},
    {"foo @ +Inf",
     "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
    {"foo @ NaN",
     "1:1: parse error: timestamp out of bounds for @ modifier: NaN"},
    {"foo @ 9223372036854775807",
     "1:1: parse error: timestamp out of bounds for @ modifier: "
     "9223372036854775808.000000"},
    {"foo @ 1 @ 2",
     "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"{", "1:2: parse error: unexpected end of input inside braces"},
    {"}", "1:1: parse error: unexpected character: '}'"},
    {"some{", "1:6: parse error: unexpected end of input inside braces"},
    {"some_metric{a=b}",
     "1:15: parse error: unexpected identifier \"b\" in label matching, "
     "expected string"},
    {"some_metric{a:b=\"b\"}",
     "1:14: parse error: unexpected character inside braces: ':'"},
    {"foo{a*\"b\"}",
     "1:6: parse error: unexpected character inside braces: '*'"},
    {"foo{a>=\"b\"}",
     "1:6: parse error: unexpected character inside braces: '>'"},
    {"some_metric{a=\"\xff\"}", "1:15: parse error: invalid UTF-8 rune"},
    {"foo{gibberish}",
     "1:14: parse error: unexpected \"}\" in label matching, expected label "
     "matching operator"},
    {"foo{1}", "1:5: parse error: unexpected character inside braces: '1'"},
    {"{}",
     "1:1: parse error: vector selector must contain at least one non-empty "
     "matcher"},
    {"{x=~\".*\"}",
     "1:1: parse error: vector selector must contain at least one non-empty "
     "matcher"},
    {"{x!=\"a\"}",
     "1:1: parse error: vector selector must contain at least one non-empty "
     "matcher"},
    {"foo{__name__=\"bar\"}",
     "1:1: parse error: metric name must not be set twice: \"foo\" or "
     "\"bar\""},
    {"foo{__name__= =}",
     "1:15: parse error: unexpected \"=\" in label matching, expected string"},
    {"foo{,}",
     "1:5: parse error: unexpected \",\" in label matching, expected "
     "identifier or \"}\""},
    {"foo{__name__=\"bar\" lol}",
     "1:20: parse error: unexpected identifier \"lol\" in label matching, "
     "expected \",\" or \"}\""},
    {"foo{a=~\"(\"}",
     "1:5: parse error: matcher on label \"a\": bad regex \"(\": missing ): "
     "("},
    {"foo[5mm]", "1:5: parse error: bad duration syntax: \"5mm\""},
    {"foo[5m1]", "1:5: parse error: bad duration syntax: \"5m1\""},
    {"foo[5m:1m1]", "1:8: parse error: bad number or duration syntax: \"1m1\""},
    {"foo[5y1hs]", "1:5: parse error: not a valid duration string: \"5y1hs\""},
    {"foo[5m1h]", "1:5: parse error: not a valid duration string: \"5m1h\""},
    {"foo[0m]", "1:5: parse error: duration must be greater than 0"},
    {"foo[]", "1:5: parse error: missing unit character in duration"},
    {"foo[1]", "1:5: parse error: missing unit character in duration"},
    {"foo[5m:0s]", "1:8: parse error: duration must be greater than 0"},
    {"foo[300000000y]", "1:5: parse error: duration out of range"},
    {"foo[5m", "1:7: parse error: unclosed left bracket"},
    {"foo[5m:1m:]", "1:10: parse error: unexpected colon ':'"},
    {"foo[5m:1]",
     "1:8: parse error: unexpected number \"1\" in subquery selector, "
     "expected duration or \"]\""},
    {"some_metric[5m] OFFSET 1",
     "1:24: parse error: unexpected number \"1\" in offset, expected "
     "duration"},
    {"some_metric[5m] OFFSET 1mm",
     "1:24: parse error: bad number or duration syntax: \"1mm\""},
    {"some_metric[5m] OFFSET",
     "1:23: parse error: unexpected end of input in offset, expected "
     "duration"},
    {"some_metric OFFSET 1m[5m]",
     "1:22: parse error: no offset modifiers allowed before range"},
    {"some_metric[5m] @ 1m",
     "1:19: parse error: unexpected duration \"1m\" in @, expected "
     "timestamp"},
    {"some_metric[5m] @",
     "1:18: parse error: unexpected end of input in @, expected timestamp"},
    {"some_metric @ 1234 [5m]",
     "1:20: parse error: no @ modifiers allowed before range"},
    {"(foo + bar)[5m]",
     "1:12: parse error: ranges only allowed for vector selectors"},
    {"rate(food[1m])[1h] offset 1h",
     "1:15: parse error: ranges only allowed for vector selectors"},
    {"test[5d] OFFSET 10s [10m:5s]",
     "1:1: parse error: subquery is only allowed on instant vector, got "
     "matrix instead"},
    {"sum without(==)(some_metric)",
     "1:13: parse error: unexpected <op:==> in grouping opts, expected label"},
    {"sum without(,)(some_metric)",
     "1:13: parse error: unexpected \",\" in grouping opts, expected label"},
    {"sum without(foo,,)(some_metric)",
     "1:17: parse error: unexpected \",\" in grouping opts, expected label"},
    {"sum by (a b) (foo)",
     "1:11: parse error: unexpected identifier \"b\" in grouping opts, "
     "expected \",\" or \")\""},
    {"sum by (a:b) (foo)",
     "1:9: parse error: unexpected metric identifier \"a:b\" in grouping "
     "opts, expected label"},
    {"sum some_metric by (test)",
     "1:5: parse error: unexpected identifier \"some_metric\" in "
     "aggregation"},
    {"sum (some_metric) by test",
     "1:22: parse error: unexpected identifier \"test\" in grouping opts, "
     "expected \"(\""},
    {"sum () by (test)",
     "1:1: parse error: no arguments for aggregate expression provided"},
    {"MIN keep_common (some_metric)",
     "1:5: parse error: unexpected identifier \"keep_common\" in "
     "aggregation"},
    {"MIN (some_metric) keep_common",
     "1:19: parse error: unexpected identifier \"keep_common\""},
    {"sum (some_metric) without (test) by (test)",
     "1:34: parse error: unexpected <by>"},
    {"topk(some_metric)",
     "1:1: parse error: wrong number of arguments for aggregate expression "
     "provided, expected 2, got 1"},
    {"topk(some_metric,)",
     "1:17: parse error: trailing commas not allowed in function call args"},
    {"topk(some_metric, other_metric)",
     "1:6: parse error: expected type scalar in aggregation parameter, got "
     "instant vector"},
    {"count_values(5, other_metric)",
     "1:14: parse error: expected type string in aggregation parameter, got "
     "scalar"},
    {"sum(foo[5m])",
     "1:5: parse error: expected type instant vector in aggregation "
     "expression, got range vector"},
    {"rate(some_metric[5m]) @ 1234",
     "1:1: parse error: @ modifier must be preceded by an instant vector "
     "selector or range vector selector or a subquery"},
    {"floor()",
     "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 0"},
    {"floor(some_metric, other_metric)",
     "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(1)",
     "1:7: parse error: expected type instant vector in call to function "
     "\"floor\", got scalar"},
    {"hour(some_metric, some_metric, some_metric)",
     "1:1: parse error: expected at most 1 argument(s) in call to \"hour\", "
     "got 3"},
    {"label_join(foo)",
     "1:1: parse error: expected at least 3 argument(s) in call to "
     "\"label_join\", got 1"},
    {"label_join(foo, \"a\", \"b\", 1)",
     "1:27: parse error: expected type string in call to function "
     "\"label_join\", got scalar"},
    {"time(some_metric)",
     "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
    {"non_existent_function_far_bar()",
     "1:1: parse error: unknown function with name "
     "\"non_existent_function_far_bar\""},
    {"rate(some_metric)",
     "1:6: parse error: expected type range vector in call to function "
     "\"rate\", got instant vector"},
    {"rate(foo[5m] + 1)",
     "1:6: parse error: binary expression must contain only scalar and "
     "instant vector types"},
    {"histogram_quantile(foo, bar)",
     "1:20: parse error: expected type scalar in call to function "
     "\"histogram_quantile\", got instant vector"},
    {"histogram_count(foo)",
     "1:1: parse error: function \"histogram_count\" is not supported: it "
     "reads native histograms, which keel does not store"},
    {"histogram_fraction(0, 1, foo)",
     "1:1: parse error: function \"histogram_fraction\" is not supported: "
     "it reads native histograms, which keel does not store"},
    {"label_replace(a, `b`, `c\xff`, `d`, `.*`)",
     "1:23: parse error: invalid UTF-8 rune"},
    {"-=", "1:2: parse error: unexpected \"=\""},
    {"++-++-+-+-<", "1:11: parse error: unexpected <op:<>"},
    {"e-+=/(0)", "1:4: parse error: unexpected \"=\""},
    {"a>b()", "1:3: parse error: unknown function with name \"b\""},
    {"`\\``", "1:4: parse error: unterminated raw string"},
    {"\"\\", "1:1: parse error: escape sequence not terminated"},
    {"\"\\c\"", "1:1: parse error: unknown escape sequence U+0063 'c'"},
    {"\"\\x.\"",
     "1:1: parse error: illegal character U+002E '.' in escape sequence"},
    {"\"\\uD800\"",
     "1:1: parse error: escape sequence is an invalid Unicode code point"},
    {"'\\\"'", "1:1: parse error: unknown escape sequence U+0022 '\"'"},
    {"\"abc\n\"", "1:1: parse error: unterminated quoted string"},
    {"start()", "1:6: parse error: unexpected \"(\""},
    {"end()", "1:4: parse error: unexpected \"(\""},
    {"foo @ start",
     "1:12: parse error: unexpected end of input in @, "
     "expected timestamp"},
    {"foo bar", "1:5: parse error: unexpected identifier \"bar\""},
    {"foo \"a very long string\"",
     "1:5: parse error: unexpected string \"\\\"a very lo\"..."},
    {"foo 5m", "1:5: parse error: unexpected duration \"5m\""},
    {"foo\n  bar", "2:3: parse error: unexpected identifier \"bar\""},
    {"rate(foo[5m]", "1:13: parse error: unclosed left parenthesis"},
    {"sum(foo) by (a) @ 5",
     "1:1: parse error: @ modifier must be preceded by an instant vector "
     "selector or range vector selector or a subquery"},
    {"foo[5m][5m]",
     "1:8: parse error: ranges only allowed for vector selectors"},
    {"foo ! bar", "1:5: parse error: unexpected character after '!': ' '"},
    {"foo # comment\n+", "2:2: parse error: unexpected end of input"},
    {"\xc3\xa9", "1:1: parse error: unexpected character: '\xc3\xa9'"},
};

TEST_CASE("bad expressions fail as Prometheus reports them") {
  for (const BadCase& c : kErrors) {
    INFO(c.input);
    auto e = ParseExpr(c.input);
    REQUIRE_FALSE(e.ok());
    CHECK(e.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(e.status().message()) == c.error);
  }
}

}  // namespace
}  // namespace keel::query
