// The PromQL evaluator against hand-computed expectations. Most cases are
// scripts in testdata/*.test, in a small language of our own:
//
//   load 1m                      # samples every minute from t = 0
//     up{job="a"} 0+1x10 _ stale 3 NaN -Inf
//   clear                        # a new, empty store
//   eval instant at 10m EXPR     # expected samples follow, any order
//     {job="a"} 10
//   eval_ordered instant at 10m EXPR   # ... in this order
//   eval range from 0 to 10m step 5m EXPR
//     {job="a"} 0 5 _            # one value per step, _ for none
//   eval_fail instant at 10m EXPR
//     substring of the error     # optional
//
// `a+bxN` is a, a+b, ..., a+N*b (N+1 values); `axN` repeats a; `_` skips a
// step; `stale` is Prometheus' stale marker. A scalar result is one line
// holding the value; a string result one line "text".
#include "core/query/engine.h"

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/query/duration.h"
#include "core/query/parser.h"

namespace keel::query {
namespace {

constexpr double kStale = std::bit_cast<double>(0x7ff0000000000002ull);

int64_t Dur(std::string_view s) {
  if (s == "0") return 0;
  auto d = ParseDuration(s);
  REQUIRE(d.ok());
  return *d;
}

bool ParseNumber(std::string_view s, double* v) {
  if (s == "NaN") {
    *v = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (s == "Inf" || s == "+Inf") {
    *v = std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "-Inf") {
    *v = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "stale") {
    *v = kStale;
    return true;
  }
  return absl::SimpleAtod(absl::string_view(s.data(), s.size()), v);
}

// Expands value notation into optional values (nullopt for `_`).
std::vector<std::optional<double>> ParseValues(std::string_view text) {
  std::vector<std::optional<double>> out;
  for (absl::string_view tok :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ' ',
                      absl::SkipEmpty())) {
    std::string t(tok);
    if (t == "_") {
      out.push_back(std::nullopt);
      continue;
    }
    std::size_t x = t.find('x');
    if (x == std::string::npos || t == "stale") {
      double v;
      INFO("value " << t);
      REQUIRE(ParseNumber(t, &v));
      out.push_back(v);
      continue;
    }
    int n = 0;
    REQUIRE(absl::SimpleAtoi(t.substr(x + 1), &n));
    std::string head = t.substr(0, x);
    std::size_t op = head.find_first_of("+-", 1);
    double a, b = 0;
    if (op == std::string::npos) {
      REQUIRE(ParseNumber(head, &a));
    } else {
      REQUIRE(ParseNumber(head.substr(0, op), &a));
      REQUIRE(ParseNumber(head.substr(op + 1), &b));
      if (head[op] == '-') b = -b;
    }
    for (int i = 0; i <= n; ++i) out.push_back(a + b * i);
  }
  return out;
}

// `name{a="b"}` or `{a="b"}` as labels.
core::Labels ParseLabels(std::string_view text) {
  if (text == "{}") return {};
  auto matchers = ParseMetricSelector(text);
  INFO("labels " << text);
  REQUIRE(matchers.ok());
  core::Labels labels;
  for (const core::Matcher& m : *matchers) {
    labels.push_back({m.name(), m.value()});
  }
  REQUIRE(core::NormalizeLabels(labels, {}).ok());
  return labels;
}

// Splits "labels rest" where labels may contain spaces inside quotes.
std::pair<std::string, std::string> SplitLabels(std::string_view line) {
  bool quoted = false;
  int depth = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') quoted = true;
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (c == ' ' && depth == 0) {
      return {std::string(line.substr(0, i)), std::string(line.substr(i + 1))};
    }
  }
  return {std::string(line), ""};
}

bool SameValue(double want, double got) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want) || want == 0) return want == got;
  return std::fabs(want - got) <= 1e-9 * std::fabs(want);
}

std::string Describe(const Value& v) {
  std::ostringstream os;
  if (auto* s = std::get_if<Scalar>(&v)) os << "scalar " << s->v;
  if (auto* s = std::get_if<String>(&v)) os << "string " << s->v;
  if (auto* vec = std::get_if<Vector>(&v)) {
    for (const Sample& s : *vec) {
      os << core::LabelsToString(s.metric) << " " << s.v << "\n";
    }
  }
  if (auto* m = std::get_if<Matrix>(&v)) {
    for (const Series& s : *m) {
      os << core::LabelsToString(s.metric);
      for (const Point& p : s.points) os << " " << p.v << "@" << p.t;
      os << "\n";
    }
  }
  return os.str();
}

struct Expected {
  core::Labels labels;
  std::vector<std::optional<double>> values;
  std::string text;  // a string result, or the error substring
};

class Script {
 public:
  explicit Script(std::string path) : path_(std::move(path)) { Reset(); }

  void Run() {
    std::ifstream in(path_);
    REQUIRE(in.good());
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(in, line)) lines.push_back(line);
    for (std::size_t i = 0; i < lines.size();) {
      std::string l(absl::StripAsciiWhitespace(lines[i]));
      if (l.empty() || l[0] == '#') {
        ++i;
        continue;
      }
      std::size_t start = i++;
      std::vector<std::string> body;
      while (i < lines.size() && !lines[i].empty() &&
             (lines[i][0] == ' ' || lines[i][0] == '\t')) {
        std::string b(absl::StripAsciiWhitespace(lines[i]));
        if (!b.empty() && b[0] != '#') body.emplace_back(b);
        ++i;
      }
      INFO(path_ << ":" << start + 1 << ": " << l);
      Command(l, body);
    }
  }

 private:
  void Reset() {
    store_ = std::make_unique<core::SeriesStore>();
    engine_ = std::make_unique<Engine>(*store_);
  }

  void Command(const std::string& cmd, const std::vector<std::string>& body) {
    if (cmd == "clear") {
      Reset();
      return;
    }
    if (cmd.rfind("load ", 0) == 0) {
      int64_t interval = Dur(cmd.substr(5));
      for (const std::string& line : body) {
        auto [labels, values] = SplitLabels(line);
        core::Labels ls = ParseLabels(labels);
        auto vs = ParseValues(values);
        for (std::size_t i = 0; i < vs.size(); ++i) {
          if (!vs[i]) continue;
          auto r =
              store_->Append(ls, static_cast<int64_t>(i) * interval, *vs[i]);
          REQUIRE(r.ok());
          REQUIRE(*r == core::AppendResult::kAppended);
        }
      }
      return;
    }
    bool fail = cmd.rfind("eval_fail ", 0) == 0;
    bool ordered = cmd.rfind("eval_ordered ", 0) == 0;
    REQUIRE((fail || ordered || cmd.rfind("eval ", 0) == 0));
    std::string rest = cmd.substr(cmd.find(' ') + 1);
    absl::StatusOr<Value> got;
    bool range = false;
    std::string expr_text;
    int64_t t = 0, start = 0, end = 0, step = 0;
    if (rest.rfind("instant at ", 0) == 0) {
      rest = rest.substr(11);
      std::size_t sp = rest.find(' ');
      t = Dur(rest.substr(0, sp));
      expr_text = rest.substr(sp + 1);
    } else {
      // range from S to E step D EXPR
      REQUIRE(rest.rfind("range from ", 0) == 0);
      std::vector<std::string> parts = absl::StrSplit(rest, ' ');
      REQUIRE(parts.size() >= 8);
      start = Dur(parts[2]);
      end = Dur(parts[4]);
      step = Dur(parts[6]);
      std::size_t pos = 0;
      for (int k = 0; k < 7; ++k) pos = rest.find(' ', pos) + 1;
      expr_text = rest.substr(pos);
      range = true;
    }
    INFO("expr " << expr_text);
    auto expr = ParseExpr(expr_text);
    if (!expr.ok()) {
      REQUIRE(fail);
      if (!body.empty())
        CHECK_THAT(std::string(expr.status().message()),
                   Catch::Contains(body[0]));
      return;
    }
    core::QueryContext ctx(core::QueryLimits::Unbounded());
    got = range ? engine_->Range(**expr, start, end, step, ctx)
                : engine_->Instant(**expr, t, ctx);
    if (fail) {
      REQUIRE_FALSE(got.ok());
      if (!body.empty()) {
        CHECK_THAT(std::string(got.status().message()),
                   Catch::Contains(body[0]));
      }
      return;
    }
    INFO("error " << got.status().ToString());
    REQUIRE(got.ok());
    INFO("got\n" << Describe(*got));
    if (auto* s = std::get_if<Scalar>(&*got)) {
      REQUIRE(body.size() == 1);
      double want;
      REQUIRE(ParseNumber(body[0], &want));
      CHECK(SameValue(want, s->v));
      CHECK(s->t == t);
      return;
    }
    if (auto* s = std::get_if<String>(&*got)) {
      REQUIRE(body.size() == 1);
      CHECK("\"" + s->v + "\"" == body[0]);
      return;
    }
    std::vector<Expected> want;
    for (const std::string& line : body) {
      auto [labels, values] = SplitLabels(line);
      want.push_back({ParseLabels(labels), ParseValues(values), ""});
    }
    if (auto* vec = std::get_if<Vector>(&*got)) {
      REQUIRE(vec->size() == want.size());
      for (std::size_t i = 0; i < vec->size(); ++i) {
        const Sample& s = (*vec)[i];
        CHECK(s.t == t);
        const Expected* w = nullptr;
        if (ordered) {
          w = &want[i];
        } else {
          for (const Expected& e : want) {
            if (e.labels == s.metric) w = &e;
          }
        }
        INFO("sample " << core::LabelsToString(s.metric));
        REQUIRE(w != nullptr);
        CHECK(w->labels == s.metric);
        REQUIRE(w->values.size() == 1);
        CHECK(SameValue(*w->values[0], s.v));
      }
      return;
    }
    const Matrix& m = std::get<Matrix>(*got);
    REQUIRE(m.size() == want.size());
    for (std::size_t i = 0; i < m.size(); ++i) {
      const Series& s = m[i];
      const Expected* w = nullptr;
      for (const Expected& e : want) {
        if (e.labels == s.metric) w = &e;
      }
      INFO("series " << core::LabelsToString(s.metric));
      REQUIRE(w != nullptr);
      if (i > 0) CHECK(CompareLabelsForTest(m[i - 1].metric, s.metric));
      if (range) {
        std::size_t p = 0;
        for (std::size_t k = 0; k < w->values.size(); ++k) {
          int64_t ts = start + static_cast<int64_t>(k) * step;
          if (!w->values[k]) continue;
          INFO("step " << ts);
          REQUIRE(p < s.points.size());
          CHECK(s.points[p].t == ts);
          CHECK(SameValue(*w->values[k], s.points[p].v));
          ++p;
        }
        CHECK(p == s.points.size());
      } else {
        // A range vector: values only, in order.
        std::vector<double> vals;
        for (const auto& v : w->values) vals.push_back(*v);
        REQUIRE(vals.size() == s.points.size());
        for (std::size_t k = 0; k < vals.size(); ++k) {
          CHECK(SameValue(vals[k], s.points[k].v));
        }
      }
    }
  }

  // Label order of a range result (or a matrix selector's) is ascending.
  static bool CompareLabelsForTest(const core::Labels& a,
                                   const core::Labels& b) {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](const core::Label& x, const core::Label& y) {
          return x.name != y.name ? x.name < y.name : x.value < y.value;
        });
  }

  std::string path_;
  std::unique_ptr<core::SeriesStore> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_CASE("testdata scripts") {
  std::filesystem::path dir =
      std::filesystem::path(__FILE__).parent_path() / "testdata";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".test") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  REQUIRE_FALSE(files.empty());
  for (const std::string& f : files) {
    SECTION(std::filesystem::path(f).filename().string()) { Script(f).Run(); }
  }
}

}  // namespace
}  // namespace keel::query
