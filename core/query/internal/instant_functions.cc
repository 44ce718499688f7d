#include "core/query/internal/instant_functions.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/query/functions.h"
#include "core/query/internal/histogram_quantile.h"
#include "core/series/matcher.h"
#include "re2/re2.h"

namespace keel::query_internal {
namespace {

double Sgn(double v) { return v < 0 ? -1 : v > 0 ? 1 : v; }
double Rad(double v) { return v * std::numbers::pi / 180; }
double Deg(double v) { return v * 180 / std::numbers::pi; }

// Go's math.Log as Prometheus 2.42's amd64 build runs it (log_amd64.s): the
// exponent is read from the bits without normalizing a subnormal, so the
// log of a subnormal x is that of 0.5 + x's mantissa times 2^-1022 (about
// -709 for every one), not the true one. Go's Log10 is Log(x) / ln 10, so
// ln and log10 of subnormals must follow it to answer as Prometheus does;
// Log2 goes through Frexp and is right.
double GoLog(double v) {
  if (v > 0 && v < std::numeric_limits<double>::min()) {
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    const double f1 = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFull) |
                                            0x3FE0000000000000ull);
    return std::log(f1) - 1022 * std::numbers::ln2;
  }
  return std::log(v);
}

struct MathEntry {
  std::string_view name;
  double (*fn)(double);
};

const MathEntry kMath[] = {
    {"abs", [](double v) { return std::fabs(v); }},
    {"acos", [](double v) { return std::acos(v); }},
    {"acosh", [](double v) { return std::acosh(v); }},
    {"asin", [](double v) { return std::asin(v); }},
    {"asinh", [](double v) { return std::asinh(v); }},
    {"atan", [](double v) { return std::atan(v); }},
    {"atanh", [](double v) { return std::atanh(v); }},
    {"ceil", [](double v) { return std::ceil(v); }},
    {"cos", [](double v) { return std::cos(v); }},
    {"cosh", [](double v) { return std::cosh(v); }},
    {"deg", Deg},
    {"exp", [](double v) { return std::exp(v); }},
    {"floor", [](double v) { return std::floor(v); }},
    {"ln", GoLog},
    {"log10",
     [](double v) {
       return v > 0 && v < std::numeric_limits<double>::min()
                  ? GoLog(v) / std::numbers::ln10
                  : std::log10(v);
     }},
    {"log2", [](double v) { return std::log2(v); }},
    {"rad", Rad},
    {"sgn", Sgn},
    {"sin", [](double v) { return std::sin(v); }},
    {"sinh", [](double v) { return std::sinh(v); }},
    {"sqrt", [](double v) { return std::sqrt(v); }},
    {"tan", [](double v) { return std::tan(v); }},
    {"tanh", [](double v) { return std::tanh(v); }},
};

double (*FindMath(std::string_view name))(double) {
  for (const MathEntry& e : kMath) {
    if (e.name == name) return e.fn;
  }
  return nullptr;
}

// A civil date in UTC from seconds since the epoch (Howard Hinnant's
// days_from_civil inverse), as Go's time.Unix(s, 0).UTC() gives it.
struct Civil {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
  int hour, minute;
  int weekday;  // 0 = Sunday
  int64_t days;
};

Civil ToCivil(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  Civil c;
  c.days = days;
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem % 3600 / 60);
  c.weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

double DaysInMonth(const Civil& c) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  if (c.month == 2 && IsLeap(c.year)) return 29;
  return kDays[c.month - 1];
}

double DayOfYear(const Civil& c) {
  static constexpr int kBefore[] = {0,   31,  59,  90,  120, 151,
                                    181, 212, 243, 273, 304, 334};
  int leap = c.month > 2 && IsLeap(c.year) ? 1 : 0;
  return kBefore[c.month - 1] + c.day + leap;
}

double (*FindDate(std::string_view name))(const Civil&) {
  if (name == "day_of_month")
    return [](const Civil& c) -> double { return c.day; };
  if (name == "day_of_week")
    return [](const Civil& c) -> double { return c.weekday; };
  if (name == "day_of_year") return DayOfYear;
  if (name == "days_in_month") return DaysInMonth;
  if (name == "hour") return [](const Civil& c) -> double { return c.hour; };
  if (name == "minute")
    return [](const Civil& c) -> double { return c.minute; };
  if (name == "month") return [](const Civil& c) -> double { return c.month; };
  if (name == "year") {
    return [](const Civil& c) { return static_cast<double>(c.year); };
  }
  return nullptr;
}

// Go's int64(f) on amd64: out of range and NaN give the minimum.
int64_t GoInt64(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(v);
}

// Sets (or, for an empty value, removes) a label, keeping the set sorted.
void SetLabel(core::Labels& labels, std::string_view name,
              std::string_view value) {
  auto it = std::lower_bound(
      labels.begin(), labels.end(), name,
      [](const core::Label& l, std::string_view n) { return l.name < n; });
  bool present = it != labels.end() && it->name == name;
  if (value.empty()) {
    if (present) labels.erase(it);
  } else if (present) {
    it->value = std::string(value);
  } else {
    labels.insert(it, core::Label{std::string(name), std::string(value)});
  }
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

// Go's regexp.Expand: $name, ${name}, $$; a numeric name is a group
// number, an unknown group expands to nothing, a malformed $ is literal.
std::string Expand(const re2::RE2& re, std::string_view tmpl,
                   std::span<const std::string_view> groups) {
  std::string out;
  while (!tmpl.empty()) {
    std::size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    bool brace = !tmpl.empty() && tmpl[0] == '{';
    std::size_t i = brace ? 1 : 0;
    std::size_t start = i;
    while (i < tmpl.size() && IsNameChar(tmpl[i])) ++i;
    std::string_view name = tmpl.substr(start, i - start);
    bool ok = !name.empty();
    if (ok && brace) {
      if (i >= tmpl.size() || tmpl[i] != '}') {
        ok = false;
      } else {
        ++i;
      }
    }
    if (!ok) {
      out.push_back('$');
      continue;
    }
    tmpl.remove_prefix(i);
    int64_t num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (num >= 0) {
      if (static_cast<std::size_t>(num) < groups.size() &&
          groups[num].data() != nullptr) {
        out.append(groups[num]);
      }
    } else {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      if (it != named.end() &&
          static_cast<std::size_t>(it->second) < groups.size() &&
          groups[it->second].data() != nullptr) {
        out.append(groups[it->second]);
      }
    }
  }
  out.append(tmpl);
  return out;
}

}  // namespace

const std::string& StringArg(const Expr& arg) {
  return Unparen(arg).As<StringLiteral>().value;
}

core::Labels AbsentLabels(const Expr& arg) {
  const Expr& e = Unparen(arg);
  const std::vector<core::Matcher>* matchers = nullptr;
  if (e.kind() == ExprKind::kVectorSelector) {
    matchers = &e.As<VectorSelector>().matchers;
  } else if (e.kind() == ExprKind::kMatrixSelector) {
    matchers = &e.As<MatrixSelector>().selector->matchers;
  } else {
    return {};
  }
  core::Labels out;
  std::vector<std::string_view> seen;
  for (const core::Matcher& m : *matchers) {
    if (m.name() == core::kMetricNameLabel) continue;
    bool has = std::find(seen.begin(), seen.end(), m.name()) != seen.end();
    if (m.type() == core::MatchType::kEqual && !has) {
      SetLabel(out, m.name(), m.value());
      seen.push_back(m.name());
    } else {
      SetLabel(out, m.name(), "");
    }
  }
  return out;
}

CallState::CallState(const Call& call, LabelPool& pool)
    : call_(call), pool_(pool) {}

CallState::~CallState() = default;

LabelsRef CallState::DropMetricName(LabelsRef labels) {
  auto [it, inserted] = dropped_.try_emplace(labels, nullptr);
  if (inserted) it->second = pool_.Intern(WithoutMetricName(*labels));
  return it->second;
}

absl::Status CallState::LabelReplace(const EvalVector& in, EvalVector& out) {
  if (regex_ == nullptr) {
    const std::string& pattern = StringArg(*call_.args[4]);
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(core::Matcher::kRegexMaxMem);
    regex_ = std::make_unique<re2::RE2>(absl::StrCat("^(?:", pattern, ")$"),
                                        options);
    if (!regex_->ok()) {
      return ExecutionError(absl::StrCat(
          "invalid regular expression in label_replace(): ", pattern));
    }
    const std::string& dst = StringArg(*call_.args[1]);
    if (!core::IsValidLabelName(dst)) {
      return ExecutionError(absl::StrCat(
          "invalid destination label name in label_replace(): ", dst));
    }
  }
  if (!regex_->ok()) {
    return ExecutionError(
        absl::StrCat("invalid regular expression in label_replace(): ",
                     StringArg(*call_.args[4])));
  }
  const std::string& dst = StringArg(*call_.args[1]);
  const std::string& repl = StringArg(*call_.args[2]);
  const std::string& src = StringArg(*call_.args[3]);
  std::vector<re2::StringPiece> pieces(
      static_cast<std::size_t>(regex_->NumberOfCapturingGroups()) + 1);
  std::vector<std::string_view> groups(pieces.size());
  for (const EvalSample& s : in) {
    auto [it, inserted] = relabelled_.try_emplace(s.metric, s.metric);
    if (inserted) {
      std::string_view value = GetLabel(*s.metric, src);
      if (regex_->Match(value, 0, value.size(), re2::RE2::UNANCHORED,
                        pieces.data(), static_cast<int>(pieces.size()))) {
        for (std::size_t g = 0; g < pieces.size(); ++g) {
          groups[g] = std::string_view(pieces[g].data(), pieces[g].size());
        }
        std::string res = Expand(*regex_, repl, groups);
        core::Labels labels = *s.metric;
        SetLabel(labels, dst, res);
        it->second = pool_.Intern(std::move(labels));
      }
    }
    out.push_back({it->second, s.v, s.t});
  }
  return absl::OkStatus();
}

absl::Status CallState::LabelJoin(const EvalVector& in, EvalVector& out) {
  const std::string& dst = StringArg(*call_.args[1]);
  const std::string& sep = StringArg(*call_.args[2]);
  std::vector<std::string_view> srcs;
  for (std::size_t i = 3; i < call_.args.size(); ++i) {
    const std::string& src = StringArg(*call_.args[i]);
    if (!core::IsValidLabelName(src)) {
      return ExecutionError(
          absl::StrCat("invalid source label name in label_join(): ", src));
    }
    srcs.push_back(src);
  }
  if (!core::IsValidLabelName(dst)) {
    return ExecutionError(
        absl::StrCat("invalid destination label name in label_join(): ", dst));
  }
  std::vector<std::string> values(srcs.size());
  for (const EvalSample& s : in) {
    auto [it, inserted] = relabelled_.try_emplace(s.metric, s.metric);
    if (inserted) {
      for (std::size_t i = 0; i < srcs.size(); ++i) {
        values[i] = std::string(GetLabel(*s.metric, srcs[i]));
      }
      core::Labels labels = *s.metric;
      SetLabel(labels, dst, absl::StrJoin(values, sep));
      it->second = pool_.Intern(std::move(labels));
    }
    out.push_back({it->second, s.v, s.t});
  }
  return absl::OkStatus();
}

absl::Status CallState::Apply(std::span<const EvalVector> args, int64_t ts,
                              EvalVector& out) {
  std::string_view name = call_.func->name;
  auto scalar = [&](std::size_t i) { return args[i][0].v; };
  if (auto fn = FindMath(name)) {
    for (const EvalSample& s : args[0]) {
      out.push_back({DropMetricName(s.metric), fn(s.v), s.t});
    }
    return absl::OkStatus();
  }
  if (auto fn = FindDate(name)) {
    if (args.empty()) {
      out.push_back({pool_.Empty(), fn(ToCivil(ts / 1000)), ts});
      return absl::OkStatus();
    }
    for (const EvalSample& s : args[0]) {
      out.push_back({DropMetricName(s.metric), fn(ToCivil(GoInt64(s.v))), s.t});
    }
    return absl::OkStatus();
  }
  if (name == "clamp" || name == "clamp_min" || name == "clamp_max") {
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();
    if (name == "clamp") {
      lo = scalar(1);
      hi = scalar(2);
      if (hi < lo) return absl::OkStatus();
    } else if (name == "clamp_min") {
      lo = scalar(1);
    } else {
      hi = scalar(1);
    }
    for (const EvalSample& s : args[0]) {
      double v = s.v;
      // Go's math.Max and math.Min: NaN wins.
      if (name != "clamp_min")
        v = std::isnan(hi) || std::isnan(v) ? kNaN : std::min(hi, v);
      if (name != "clamp_max")
        v = std::isnan(lo) || std::isnan(v) ? kNaN : std::max(lo, v);
      out.push_back({DropMetricName(s.metric), v, s.t});
    }
    return absl::OkStatus();
  }
  if (name == "round") {
    double to_nearest = args.size() >= 2 ? scalar(1) : 1;
    double inverse = 1.0 / to_nearest;
    for (const EvalSample& s : args[0]) {
      out.push_back({DropMetricName(s.metric),
                     std::floor(s.v * inverse + 0.5) / inverse, s.t});
    }
    return absl::OkStatus();
  }
  if (name == "timestamp") {
    for (const EvalSample& s : args[0]) {
      out.push_back(
          {DropMetricName(s.metric), static_cast<double>(s.t) / 1000, s.t});
    }
    return absl::OkStatus();
  }
  if (name == "time") {
    out.push_back({pool_.Empty(), static_cast<double>(ts) / 1000, ts});
    return absl::OkStatus();
  }
  if (name == "pi") {
    out.push_back({pool_.Empty(), std::numbers::pi, ts});
    return absl::OkStatus();
  }
  if (name == "vector") {
    out.push_back({pool_.Empty(), scalar(0), ts});
    return absl::OkStatus();
  }
  if (name == "scalar") {
    out.push_back(
        {pool_.Empty(), args[0].size() == 1 ? args[0][0].v : kNaN, ts});
    return absl::OkStatus();
  }
  if (name == "absent") {
    if (args[0].empty()) {
      out.push_back({pool_.Intern(AbsentLabels(*call_.args[0])), 1, ts});
    }
    return absl::OkStatus();
  }
  if (name == "sort" || name == "sort_desc") {
    out.assign(args[0].begin(), args[0].end());
    bool desc = name == "sort_desc";
    // NaN last either way, as Prometheus' reversed heaps order them.
    std::stable_sort(out.begin(), out.end(),
                     [desc](const EvalSample& a, const EvalSample& b) {
                       if (std::isnan(a.v)) return false;
                       if (std::isnan(b.v)) return true;
                       return desc ? a.v > b.v : a.v < b.v;
                     });
    return absl::OkStatus();
  }
  if (name == "label_replace") return LabelReplace(args[0], out);
  if (name == "label_join") return LabelJoin(args[0], out);
  if (name == "histogram_quantile") {
    quantiler_.Apply(scalar(0), args[1], pool_, out);
    return absl::OkStatus();
  }
  return absl::UnimplementedError(
      absl::StrCat("function \"", std::string(name), "\" is not supported"));
}

}  // namespace keel::query_internal
