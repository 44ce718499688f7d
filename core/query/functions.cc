#include "core/query/functions.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace keel::query {
namespace {

constexpr ValueType V = ValueType::kVector;
constexpr ValueType M = ValueType::kMatrix;
constexpr ValueType S = ValueType::kScalar;
constexpr ValueType Str = ValueType::kString;

constexpr std::array<ValueType, 0> kNone{};
constexpr std::array kV{V};
constexpr std::array kM{M};
constexpr std::array kS{S};
constexpr std::array kVS{V, S};
constexpr std::array kVSS{V, S, S};
constexpr std::array kSV{S, V};
constexpr std::array kSM{S, M};
constexpr std::array kMS{M, S};
constexpr std::array kMSS{M, S, S};
constexpr std::array kSSV{S, S, V};
constexpr std::array kLabelReplace{V, Str, Str, Str, Str};
constexpr std::array kLabelJoin{V, Str, Str, Str};

// Sorted by name for the binary search in FindFunction.
constexpr Function kFunctions[] = {
    {"abs", kV},
    {"absent", kV},
    {"absent_over_time", kM},
    {"acos", kV},
    {"acosh", kV},
    {"asin", kV},
    {"asinh", kV},
    {"atan", kV},
    {"atanh", kV},
    {"avg_over_time", kM},
    {"ceil", kV},
    {"changes", kM},
    {"clamp", kVSS},
    {"clamp_max", kVS},
    {"clamp_min", kVS},
    {"cos", kV},
    {"cosh", kV},
    {"count_over_time", kM},
    {"day_of_month", kV, 1},
    {"day_of_week", kV, 1},
    {"day_of_year", kV, 1},
    {"days_in_month", kV, 1},
    {"deg", kV},
    {"delta", kM},
    {"deriv", kM},
    {"exp", kV},
    {"floor", kV},
    {"histogram_count", kV, 0, V, true},
    {"histogram_fraction", kSSV, 0, V, true},
    {"histogram_quantile", kSV},
    {"histogram_sum", kV, 0, V, true},
    {"holt_winters", kMSS},
    {"hour", kV, 1},
    {"idelta", kM},
    {"increase", kM},
    {"irate", kM},
    {"label_join", kLabelJoin, -1},
    {"label_replace", kLabelReplace},
    {"last_over_time", kM},
    {"ln", kV},
    {"log10", kV},
    {"log2", kV},
    {"max_over_time", kM},
    {"min_over_time", kM},
    {"minute", kV, 1},
    {"month", kV, 1},
    {"pi", kNone, 0, S},
    {"predict_linear", kMS},
    {"present_over_time", kM},
    {"quantile_over_time", kSM},
    {"rad", kV},
    {"rate", kM},
    {"resets", kM},
    {"round", kVS, 1},
    {"scalar", kV, 0, S},
    {"sgn", kV},
    {"sin", kV},
    {"sinh", kV},
    {"sort", kV},
    {"sort_desc", kV},
    {"sqrt", kV},
    {"stddev_over_time", kM},
    {"stdvar_over_time", kM},
    {"sum_over_time", kM},
    {"tan", kV},
    {"tanh", kV},
    {"time", kNone, 0, S},
    {"timestamp", kV},
    {"vector", kS},
    {"year", kV, 1},
};

constexpr bool SortedByName() {
  for (std::size_t i = 1; i < std::size(kFunctions); ++i) {
    if (!(kFunctions[i - 1].name < kFunctions[i].name)) return false;
  }
  return true;
}
static_assert(SortedByName());

}  // namespace

const Function* FindFunction(std::string_view name) {
  auto it = std::lower_bound(
      std::begin(kFunctions), std::end(kFunctions), name,
      [](const Function& f, std::string_view n) { return f.name < n; });
  if (it == std::end(kFunctions) || it->name != name) return nullptr;
  return &*it;
}

}  // namespace keel::query
