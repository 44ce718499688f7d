// PromApi's endpoints over series and their labels, beside the queries:
// /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values and
// /api/v1/metadata.
#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/query/parser.h"
#include "core/query/result_json.h"
#include "tools/json.h"
#include "tools/server/internal/prom_api_answer.h"
#include "tools/server/prom_api.h"

namespace keel::tools {
namespace {

using tools_internal::AnswerEnd;
using tools_internal::BadData;
using tools_internal::BadParam;
using tools_internal::Charged;
using tools_internal::kAnswerStart;
using tools_internal::TimeParam;
using tools_internal::View;

// Prometheus' minTime and maxTime, the defaults of start and end.
constexpr int64_t kMinTime = -9223309901257974;
constexpr int64_t kMaxTime = 9223309901257974;

// The match[] selectors, as Prometheus' parseMatchersParam reads them.
absl::StatusOr<std::vector<std::vector<core::Matcher>>> MatchParams(
    const HttpRequest& request) {
  std::vector<std::vector<core::Matcher>> selectors;
  for (const auto& [name, value] : request.params) {
    if (name != "match[]") continue;
    auto matchers = query::ParseMetricSelector(value);
    if (!matchers.ok()) return matchers.status();
    if (std::all_of(matchers->begin(), matchers->end(),
                    [](const core::Matcher& m) { return m.MatchesEmpty(); })) {
      return absl::InvalidArgumentError(
          "match[] must contain at least one non-empty matcher");
    }
    selectors.push_back(*std::move(matchers));
  }
  return selectors;
}

// A JSON array of strings, charged to `ctx`; false once it fails.
bool AppendStrings(const std::vector<std::string>& strings,
                   core::QueryContext& ctx, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < strings.size(); ++i) {
    if (!Charged(ctx, out, [&] {
          if (i > 0) out->push_back(',');
          query::AppendJsonString(strings[i], out);
        })) {
      return false;
    }
  }
  out->push_back(']');
  return true;
}

std::string_view MetricTypeName(int type) {
  static constexpr std::string_view kNames[] = {
      "unknown",        "counter", "gauge", "histogram",
      "gaugehistogram", "summary", "info",  "stateset"};
  return type >= 0 && type < 8 ? kNames[type] : "unknown";
}

}  // namespace

// What series, labels and label values select: the match[] selectors,
// [start, end] and the request's limits.
struct PromApi::Selection {
  std::vector<std::vector<core::Matcher>> selectors;
  int64_t start = kMinTime;
  int64_t end = kMaxTime;
  core::QueryLimits limits;
};

std::optional<HttpResponse> PromApi::ReadSelection(const HttpRequest& request,
                                                   bool name_match_param,
                                                   Selection* out) const {
  auto start = TimeParam(request, "start", kMinTime);
  if (!start.ok()) return BadParam("start", View(start.status()));
  auto end = TimeParam(request, "end", kMaxTime);
  if (!end.ok()) return BadParam("end", View(end.status()));
  auto selectors = MatchParams(request);
  if (!selectors.ok()) {
    return name_match_param ? BadParam("match[]", View(selectors.status()))
                            : BadData(View(selectors.status()));
  }
  auto limits = LimitsOf(request);
  if (!limits.ok()) return BadParam("timeout", View(limits.status()));
  out->selectors = *std::move(selectors);
  out->start = *start;
  out->end = *end;
  out->limits = *limits;
  return std::nullopt;
}

absl::StatusOr<std::vector<core::Labels>> PromApi::SelectLabelSets(
    const std::vector<std::vector<core::Matcher>>& selectors, int64_t start,
    int64_t end, core::QueryContext& ctx) const {
  static const core::Matcher* const kAll = new core::Matcher(
      *core::Matcher::Create(core::MatchType::kRegexMatch, "__name__", ".+"));
  std::vector<core::Labels> out;
  absl::flat_hash_set<core::SeriesRef> seen;
  auto select = [&](std::span<const core::Matcher> matchers) -> absl::Status {
    auto set = store_->Select(matchers, start, end, ctx);
    if (!set.ok()) return set.status();
    for (const auto& entry : set->series()) {
      if (!ctx.Work()) return ctx.status();
      if (seen.insert(entry.ref).second) out.push_back(entry.labels);
    }
    return absl::OkStatus();
  };
  if (selectors.empty()) {
    if (absl::Status s = select(std::span<const core::Matcher>(kAll, 1));
        !s.ok())
      return s;
  }
  for (const auto& matchers : selectors) {
    if (absl::Status s = select(matchers); !s.ok()) return s;
  }
  std::sort(
      out.begin(), out.end(), [](const core::Labels& a, const core::Labels& b) {
        return std::lexicographical_compare(
            a.begin(), a.end(), b.begin(), b.end(),
            [](const core::Label& x, const core::Label& y) {
              return x.name != y.name ? x.name < y.name : x.value < y.value;
            });
      });
  return out;
}

HttpResponse PromApi::Series(const HttpRequest& request) const {
  if (request.Param("match[]") == nullptr) {
    return BadData("no match[] parameter provided");
  }
  Selection selection;
  if (auto error = ReadSelection(request, true, &selection)) return *error;
  core::QueryContext ctx(selection.limits,
                         [&request] { return request.ClientGone(); });
  auto sets =
      SelectLabelSets(selection.selectors, selection.start, selection.end, ctx);
  if (!sets.ok()) return QueryFailed(ctx, sets.status());
  std::string out(kAnswerStart);
  out.push_back('[');
  for (size_t i = 0; i < sets->size(); ++i) {
    if (!Charged(ctx, &out, [&] {
          if (i > 0) out.push_back(',');
          query::AppendLabelsJson((*sets)[i], &out);
        })) {
      return QueryFailed(ctx, ctx.status());
    }
  }
  out.push_back(']');
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::LabelNames(const HttpRequest& request) const {
  Selection selection;
  if (auto error = ReadSelection(request, false, &selection)) return *error;
  core::QueryContext ctx(selection.limits,
                         [&request] { return request.ClientGone(); });
  auto sets =
      SelectLabelSets(selection.selectors, selection.start, selection.end, ctx);
  if (!sets.ok()) return QueryFailed(ctx, sets.status());
  absl::flat_hash_set<std::string_view> seen;
  std::vector<std::string> names;
  for (const auto& labels : *sets) {
    for (const auto& label : labels) {
      if (seen.insert(label.name).second) names.push_back(label.name);
    }
  }
  std::sort(names.begin(), names.end());
  std::string out(kAnswerStart);
  if (!AppendStrings(names, ctx, &out)) return QueryFailed(ctx, ctx.status());
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::LabelValues(const HttpRequest& request) const {
  constexpr std::string_view kBefore = "/api/v1/label/";
  constexpr std::string_view kAfter = "/values";
  std::string_view name = request.path;
  if (name.starts_with(kBefore) && name.ends_with(kAfter) &&
      name.size() >= kBefore.size() + kAfter.size()) {
    name = name.substr(kBefore.size(),
                       name.size() - kBefore.size() - kAfter.size());
  }
  const bool valid =
      !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
  if (!valid) {
    std::string quoted;
    query::AppendJsonString(name, &quoted);
    return BadData(absl::StrCat("invalid label name: ", quoted));
  }
  Selection selection;
  if (auto error = ReadSelection(request, false, &selection)) return *error;
  core::QueryContext ctx(selection.limits,
                         [&request] { return request.ClientGone(); });
  if (selection.selectors.empty()) {
    // Only series that have the label: fewer to select than all of them.
    selection.selectors.push_back({*core::Matcher::Create(
        core::MatchType::kRegexMatch, std::string(name), ".+")});
  }
  auto sets =
      SelectLabelSets(selection.selectors, selection.start, selection.end, ctx);
  if (!sets.ok()) return QueryFailed(ctx, sets.status());
  absl::flat_hash_set<std::string_view> seen;
  std::vector<std::string> values;
  for (const auto& labels : *sets) {
    for (const auto& label : labels) {
      if (label.name == name && seen.insert(label.value).second) {
        values.push_back(label.value);
      }
    }
  }
  std::sort(values.begin(), values.end());
  std::string out(kAnswerStart);
  if (!AppendStrings(values, ctx, &out)) return QueryFailed(ctx, ctx.status());
  return AnswerEnd(std::move(out));
}

void PromApi::KeepMetadata(std::string_view decoded) {
  std::lock_guard lock(metadata_mu_);
  ForEachRemoteWriteMetadata(decoded, [&](const prompb::MetricMetadata& m) {
    auto it = metadata_.find(m.metric_family_name());
    if (it == metadata_.end()) {
      if (metadata_.size() >= kMaxMetadata) return;
      it = metadata_.emplace(m.metric_family_name(), MetricMetadata{}).first;
    }
    it->second.type = std::string(MetricTypeName(m.type()));
    it->second.help = m.help().substr(0, kMaxHelpBytes);
    it->second.unit = m.unit().substr(0, kMaxHelpBytes);
  }).IgnoreError();  // the body was checked before
}

HttpResponse PromApi::Metadata(const HttpRequest& request) const {
  int64_t limit = -1;
  if (const std::string* text = request.Param("limit");
      text != nullptr && !text->empty() && !absl::SimpleAtoi(*text, &limit)) {
    return BadData("limit must be a number");
  }
  const std::string* metric = request.Param("metric");
  std::vector<std::pair<std::string, MetricMetadata>> entries;
  {
    std::lock_guard lock(metadata_mu_);
    if (metric != nullptr && !metric->empty()) {
      if (auto it = metadata_.find(*metric); it != metadata_.end()) {
        entries.emplace_back(*it);
      }
    } else {
      entries.assign(metadata_.begin(), metadata_.end());
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  if (limit >= 0 && static_cast<uint64_t>(limit) < entries.size()) {
    entries.resize(limit);
  }
  std::string out(kAnswerStart);
  out.push_back('{');
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.push_back(',');
    query::AppendJsonString(entries[i].first, &out);
    absl::StrAppend(&out, ":[",
                    JsonObject()
                        .Add("type", entries[i].second.type)
                        .Add("help", entries[i].second.help)
                        .Add("unit", entries[i].second.unit)
                        .str(),
                    "]");
  }
  out.push_back('}');
  return AnswerEnd(std::move(out));
}

}  // namespace keel::tools
