#include "tools/server/prom_api.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/query/parser.h"
#include "core/query/result_json.h"
#include "core/query/value.h"
#include "core/series/series_text_format.h"
#include "tools/json.h"
#include "tools/server/prom_time.h"

namespace keel::tools {
namespace {

// Prometheus' minTime and maxTime, the defaults of start and end.
constexpr int64_t kMinTime = -9223309901257974;
constexpr int64_t kMaxTime = 9223309901257974;

std::string_view View(const absl::Status& status) {
  return std::string_view(status.message().data(), status.message().size());
}

HttpResponse ApiError(int code, std::string_view type, std::string_view why) {
  return HttpResponse::Json(code, JsonObject()
                                      .add("status", "error")
                                      .add("errorType", type)
                                      .add("error", why)
                                      .str());
}

[[gnu::cold]] HttpResponse BadData(std::string_view reason) {
  return ApiError(400, "bad_data", reason);
}

[[gnu::cold]] HttpResponse BadParam(std::string_view name,
                                    std::string_view reason) {
  return BadData(absl::StrCat("invalid parameter \"", std::string(name),
                              "\": ", std::string(reason)));
}

// A query's answer is built in place, so that a large one is never copied:
// AnswerStart's text, the data, then AnswerEnd.
constexpr char kAnswerStart[] = R"({"status":"success","data":)";
HttpResponse AnswerEnd(std::string out) {
  out.push_back('}');
  return HttpResponse::Json(200, std::move(out));
}

// Appends to `out` with `append`, charging the bytes to `ctx`; false once
// the context fails.
template <typename Append>
bool Charged(core::QueryContext& ctx, std::string* out, Append append) {
  size_t before = out->size();
  append();
  return ctx.AddResultBytes(out->size() - before);
}

// With a non-empty stats parameter (Prometheus' stats=all), what the
// query's context counted, inside the data object where Prometheus puts its
// stats: samples.peakSamples as Prometheus names the most samples held at
// once, and under "keel" the bytes of the answer's data and of the labels
// copied from the store. keel has no per-query arena, so these counts are
// its measure of a query's memory. `out` ends with the data object's '}'.
void AppendStatsIfAsked(const HttpRequest& request,
                        const core::QueryContext& ctx, std::string* out) {
  const std::string* stats = request.param("stats");
  if (stats == nullptr || stats->empty() || out->empty() ||
      out->back() != '}') {
    return;
  }
  out->pop_back();
  absl::StrAppend(out, R"(,"stats":{"samples":{"peakSamples":)",
                  ctx.peak_samples(), R"(},"keel":{"resultBytes":)",
                  ctx.result_bytes(), R"(,"selectedLabelBytes":)",
                  ctx.selected_bytes(), "}}}");
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A time parameter, `fallback` when absent or empty.
absl::StatusOr<int64_t> TimeParam(const HttpRequest& request,
                                  std::string_view name, int64_t fallback) {
  const std::string* text = request.param(name);
  if (text == nullptr || text->empty()) return fallback;
  return ParsePromTime(*text);
}

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

// [start, end] of series, labels and label values.
absl::Status TimeRange(const HttpRequest& request, int64_t* start, int64_t* end,
                       HttpResponse* error) {
  auto s = TimeParam(request, "start", kMinTime);
  if (!s.ok()) {
    *error = BadParam("start", View(s.status()));
    return s.status();
  }
  auto e = TimeParam(request, "end", kMaxTime);
  if (!e.ok()) {
    *error = BadParam("end", View(e.status()));
    return e.status();
  }
  *start = *s;
  *end = *e;
  return absl::OkStatus();
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

// Inflates a gzip body into `out`, at most `limit` bytes.
absl::Status Gunzip(std::string_view in, uint64_t limit, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError("zlib: inflateInit2 failed");
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  // On the heap: civetweb's worker threads have small stacks.
  std::string chunk(64 << 10, '\0');
  char* const buf = chunk.data();
  const size_t buf_size = chunk.size();
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = static_cast<uInt>(buf_size);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string why = z.msg ? z.msg : "truncated";
      inflateEnd(&z);
      return absl::InvalidArgumentError(
          absl::StrCat("gzip body is corrupt at byte ", z.total_in, ": ", why));
    }
    const size_t got = buf_size - z.avail_out;
    if (out->size() + got > limit) {
      inflateEnd(&z);
      return absl::InvalidArgumentError(
          absl::StrCat("gzip body decompresses to more than ", limit,
                       " bytes (import-max-bytes)"));
    }
    out->append(buf, got);
    if (rc == Z_STREAM_END && z.avail_in > 0) {  // another gzip member
      inflateReset(&z);
      rc = Z_OK;
    }
  }
  inflateEnd(&z);
  return absl::OkStatus();
}

std::string_view MetricTypeName(int type) {
  static constexpr std::string_view kNames[] = {
      "unknown",        "counter", "gauge", "histogram",
      "gaugehistogram", "summary", "info",  "stateset"};
  return type >= 0 && type < 8 ? kNames[type] : "unknown";
}

}  // namespace

void PromApi::Register(HttpServer* server) {
  server->Route("POST", "/api/v1/write",
                [this](const HttpRequest& r) { return Write(r); },
                {.max_body_bytes = write_limits_.body.max_body_bytes,
                 .kind = RequestKind::kWrite,
                 .needs_auth = true});
  server->Route("POST", "/api/v1/import/prometheus",
                [this](const HttpRequest& r) { return Import(r); },
                {.max_body_bytes = write_limits_.import_max_bytes,
                 .kind = RequestKind::kWrite,
                 .needs_auth = true});
  using Handler = HttpResponse (PromApi::*)(const HttpRequest&) const;
  const std::pair<const char*, Handler> queries[] = {
      {"/api/v1/series", &PromApi::Series},
      {"/api/v1/query", &PromApi::Query},
      {"/api/v1/query_range", &PromApi::QueryRange},
      {"/api/v1/labels", &PromApi::LabelNames},
      {"/api/v1/label/{}/values", &PromApi::LabelValues},
  };
  for (const char* method : {"GET", "POST"}) {
    for (const auto& [path, bound] : queries) {
      // clang before 16 cannot capture a structured binding.
      const Handler handler = bound;
      server->Route(
          method, path,
          [this, handler](const HttpRequest& r) { return (this->*handler)(r); },
          {.kind = RequestKind::kQuery});
    }
  }
  server->Route("GET", "/api/v1/metadata",
                [this](const HttpRequest& r) { return Metadata(r); });
  server->Route("GET", "/api/v1/status/buildinfo", [](const HttpRequest&) {
    // Grafana reads `version` to tell what the API supports: keel answers
    // as the Prometheus whose API it follows.
    return HttpResponse::Json(200, absl::StrCat(kAnswerStart,
                                                JsonObject()
                                                    .add("version", "2.42.0")
                                                    .add("revision", "")
                                                    .add("branch", "")
                                                    .add("buildUser", "")
                                                    .add("buildDate", "")
                                                    .add("goVersion", "")
                                                    .add("application", "keel")
                                                    .str(),
                                                "}"));
  });
  for (const char* method : {"GET", "POST"}) {
    server->Route(method, "/api/v1/query_exemplars", [](const HttpRequest&) {
      return HttpResponse::Json(200, absl::StrCat(kAnswerStart, "[]}"));
    });
  }
}

std::string_view WriteRejectionName(WriteRejection reason) {
  switch (reason) {
    case WriteRejection::kTooFarInFuture:
      return "too_far_in_future";
    case WriteRejection::kTooOld:
      return "too_old";
    case WriteRejection::kOutOfOrder:
      return "out_of_order";
    case WriteRejection::kConflict:
      return "conflict";
    case WriteRejection::kSeriesLimit:
      return "series_limit";
    case WriteRejection::kNewSeriesLimit:
      return "new_series_limit";
    case WriteRejection::kBadLabels:
      return "bad_labels";
    case WriteRejection::kSeriesDropped:
      return "series_dropped";
  }
  return "unknown";
}

// One request's outcome: samples stored, rejected per reason, the first
// rejection's words.
struct PromApi::WriteTally {
  uint64_t stored = 0;
  uint64_t rejected[kWriteRejections] = {};
  uint64_t new_series = 0;
  uint64_t bad_series = 0;
  std::string first_error;

  void Reject(WriteRejection reason, uint64_t samples,
              absl::FunctionRef<std::string()> why) {
    if (samples == 0) return;
    rejected[static_cast<int>(reason)] += samples;
    if (first_error.empty()) first_error = why();
  }
};

void PromApi::WriteSeries(const prompb::TimeSeries& series,
                          int64_t newest_allowed, WriteTally& tally) {
  // Time first, so that no series is created for samples not stored.
  const int64_t oldest_allowed = store_->OldestAppendable();
  uint64_t future = 0, old = 0;
  for (const prompb::Sample& s : series.samples()) {
    future += s.timestamp() > newest_allowed;
    old += s.timestamp() < oldest_allowed;
  }
  auto first_with = [&](auto predicate) {
    for (const prompb::Sample& s : series.samples()) {
      if (predicate(s.timestamp())) return s.timestamp();
    }
    return int64_t{0};
  };
  tally.Reject(WriteRejection::kTooFarInFuture, future, [&] {
    return absl::StrCat(
        "sample at ", first_with([&](int64_t t) { return t > newest_allowed; }),
        " is more than ", write_limits_.max_future_ms,
        " ms ahead of the server's clock (--max-future)");
  });
  tally.Reject(WriteRejection::kTooOld, old, [&] {
    return absl::StrCat(
        "sample at ", first_with([&](int64_t t) { return t < oldest_allowed; }),
        " is older than the retention (oldest accepted ", oldest_allowed, ")");
  });
  const uint64_t kept = series.samples_size() - future - old;
  if (kept == 0) return;

  core::Labels labels;
  labels.reserve(series.labels_size());
  for (const prompb::Label& l : series.labels()) {
    labels.push_back({l.name(), l.value()});
  }
  absl::StatusOr<core::SeriesRef> ref = store_->Find(labels);
  if (absl::IsNotFound(ref.status())) {
    if (tally.new_series >= write_limits_.max_new_series_per_request) {
      tally.Reject(WriteRejection::kNewSeriesLimit, kept, [&] {
        return absl::StrCat("more than ",
                            write_limits_.max_new_series_per_request,
                            " new series in one request "
                            "(--max-new-series-per-request)");
      });
      return;
    }
    ref = store_->GetOrCreate(std::move(labels));
    if (ref.ok()) ++tally.new_series;
  }
  if (!ref.ok()) {
    bool full = absl::IsResourceExhausted(ref.status());
    tally.bad_series += !full;
    tally.Reject(
        full ? WriteRejection::kSeriesLimit : WriteRejection::kBadLabels, kept,
        [&] {
          return absl::StrCat(std::string(ref.status().message()),
                              full ? " (--max-series)" : "");
        });
    return;
  }
  for (const prompb::Sample& s : series.samples()) {
    const int64_t t = s.timestamp();
    if (t > newest_allowed || t < oldest_allowed) continue;
    switch (store_->Append(*ref, t, s.value())) {
      case core::AppendResult::kAppended:
      case core::AppendResult::kDuplicate:
        ++tally.stored;
        break;
      case core::AppendResult::kOutOfOrder:
        tally.Reject(WriteRejection::kOutOfOrder, 1, [&] {
          return absl::StrCat("out of order sample at ", t);
        });
        break;
      case core::AppendResult::kConflict:
        tally.Reject(WriteRejection::kConflict, 1, [&] {
          return absl::StrCat("duplicate sample for timestamp ", t,
                              " with another value");
        });
        break;
      case core::AppendResult::kTooOld:  // retention moved meanwhile
        tally.Reject(WriteRejection::kTooOld, 1, [&] {
          return absl::StrCat("sample at ", t, " is older than the retention");
        });
        break;
      case core::AppendResult::kUnknownSeries:
        tally.Reject(WriteRejection::kSeriesDropped, 1,
                     [] { return std::string("series dropped meanwhile"); });
        break;
    }
  }
}

HttpResponse PromApi::Write(const HttpRequest& request) {
  write_requests_.fetch_add(1, std::memory_order_relaxed);
  auto fail = [&](int status, std::string_view reason) {
    write_failures_.fetch_add(1, std::memory_order_relaxed);
    return HttpResponse::Error(status, reason);
  };
  std::string_view encoding = request.header("Content-Encoding");
  if (!encoding.empty() && encoding != "snappy") {
    return fail(400,
                absl::StrCat("unsupported Content-Encoding \"",
                             std::string(encoding), "\" (expected snappy)"));
  }
  absl::StatusOr<size_t> decoded_size =
      RemoteWriteDecodedSize(request.body, write_limits_.body);
  if (!decoded_size.ok()) {
    return fail(400, std::string(decoded_size.status().message()));
  }
  if (*decoded_size > decoded_budget_.capacity()) {
    return fail(
        400,
        absl::StrCat("remote-write body decodes to ", *decoded_size,
                     " bytes, more than the whole write budget "
                     "of ",
                     decoded_budget_.capacity(), " (--write-decoded-budget)"));
  }
  DecodedBudget::Lease lease(decoded_budget_, *decoded_size,
                             absl::Milliseconds(write_limits_.budget_wait_ms));
  if (!lease.ok()) {
    writes_throttled_.fetch_add(1, std::memory_order_relaxed);
    HttpResponse busy =
        fail(503, absl::StrCat("concurrent writes hold the decoded budget of ",
                               decoded_budget_.capacity(),
                               " bytes (--write-decoded-budget); retry"));
    busy.headers = "Retry-After: 1\r\n";
    return busy;
  }
  std::string decoded;
  if (absl::Status s =
          UncompressRemoteWrite(request.body, write_limits_.body, &decoded);
      !s.ok()) {
    return fail(400, std::string(s.message()));
  }
  if (absl::Status s =
          ForEachRemoteWriteSeries(decoded, [](const prompb::TimeSeries&) {});
      !s.ok()) {
    return fail(400, std::string(s.message()));
  }
  KeepMetadata(decoded);
  const int64_t now = NowMs();
  const int64_t newest_allowed =
      now > std::numeric_limits<int64_t>::max() - write_limits_.max_future_ms
          ? std::numeric_limits<int64_t>::max()
          : now + write_limits_.max_future_ms;
  WriteTally tally;
  ForEachRemoteWriteSeries(decoded, [&](const prompb::TimeSeries& series) {
    WriteSeries(series, newest_allowed, tally);
  }).IgnoreError();  // checked above
  samples_written_.fetch_add(tally.stored, std::memory_order_relaxed);
  uint64_t rejected = 0;
  std::string counts;
  for (int i = 0; i < kWriteRejections; ++i) {
    if (tally.rejected[i] == 0) continue;
    rejected_[i].fetch_add(tally.rejected[i], std::memory_order_relaxed);
    rejected += tally.rejected[i];
    absl::StrAppend(
        &counts, counts.empty() ? "" : ", ",
        std::string(WriteRejectionName(static_cast<WriteRejection>(i))), "=",
        tally.rejected[i]);
  }
  if (rejected == 0) return HttpResponse::Empty(204);
  std::string bad_series =
      tally.bad_series == 0
          ? ""
          : absl::StrCat(tally.bad_series, " series with bad labels; ");
  return fail(400, absl::StrCat(bad_series, rejected, " samples rejected (",
                                tally.stored, " stored): ", counts,
                                "; first: ", tally.first_error));
}

HttpResponse PromApi::QueryFailed(const absl::Status& status) const {
  int code = 422;
  const query::ErrorType type = query::ClassifyError(status);
  switch (type) {
    case query::ErrorType::kBadData:
      code = 400;
      break;
    case query::ErrorType::kTimeout:
      queries_timed_out_.fetch_add(1, std::memory_order_relaxed);
      code = 503;
      break;
    case query::ErrorType::kCanceled:
      queries_canceled_.fetch_add(1, std::memory_order_relaxed);
      code = 499;  // Prometheus' "client closed request"
      break;
    default:
      if (absl::IsResourceExhausted(status)) {
        queries_over_limits_.fetch_add(1, std::memory_order_relaxed);
      }
      break;
  }
  return ApiError(code, query::ErrorTypeName(type), View(status));
}

absl::StatusOr<core::QueryLimits> PromApi::LimitsOf(
    const HttpRequest& request) const {
  core::QueryLimits limits = query_limits_;
  const std::string* timeout = request.param("timeout");
  if (timeout == nullptr || timeout->empty()) return limits;
  auto ms = ParsePromDuration(*timeout);
  if (!ms.ok()) return ms.status();
  if (limits.timeout_ms <= 0 || *ms < limits.timeout_ms) {
    limits.timeout_ms = *ms;
  }
  return limits;
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
  if (request.param("match[]") == nullptr) {
    return BadData("no match[] parameter provided");
  }
  int64_t start = 0, end = 0;
  HttpResponse error;
  if (!TimeRange(request, &start, &end, &error).ok()) return error;
  auto selectors = MatchParams(request);
  if (!selectors.ok()) return BadParam("match[]", View(selectors.status()));
  auto limits = LimitsOf(request);
  if (!limits.ok()) return BadParam("timeout", View(limits.status()));
  core::QueryContext ctx(*limits, [&request] { return request.ClientGone(); });
  auto sets = SelectLabelSets(*selectors, start, end, ctx);
  if (!sets.ok()) return QueryFailed(sets.status());
  std::string out(kAnswerStart);
  out.push_back('[');
  for (size_t i = 0; i < sets->size(); ++i) {
    if (!Charged(ctx, &out, [&] {
          if (i > 0) out.push_back(',');
          query::AppendLabelsJson((*sets)[i], &out);
        })) {
      return QueryFailed(ctx.status());
    }
  }
  out.push_back(']');
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::LabelNames(const HttpRequest& request) const {
  int64_t start = 0, end = 0;
  HttpResponse error;
  if (!TimeRange(request, &start, &end, &error).ok()) return error;
  auto selectors = MatchParams(request);
  if (!selectors.ok()) return BadData(View(selectors.status()));
  auto limits = LimitsOf(request);
  if (!limits.ok()) return BadParam("timeout", View(limits.status()));
  core::QueryContext ctx(*limits, [&request] { return request.ClientGone(); });
  auto sets = SelectLabelSets(*selectors, start, end, ctx);
  if (!sets.ok()) return QueryFailed(sets.status());
  absl::flat_hash_set<std::string_view> seen;
  std::vector<std::string> names;
  for (const auto& labels : *sets) {
    for (const auto& label : labels) {
      if (seen.insert(label.name).second) names.push_back(label.name);
    }
  }
  std::sort(names.begin(), names.end());
  std::string out(kAnswerStart);
  if (!AppendStrings(names, ctx, &out)) return QueryFailed(ctx.status());
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
  int64_t start = 0, end = 0;
  HttpResponse error;
  if (!TimeRange(request, &start, &end, &error).ok()) return error;
  auto selectors = MatchParams(request);
  if (!selectors.ok()) return BadData(View(selectors.status()));
  auto limits = LimitsOf(request);
  if (!limits.ok()) return BadParam("timeout", View(limits.status()));
  core::QueryContext ctx(*limits, [&request] { return request.ClientGone(); });
  if (selectors->empty()) {
    // Only series that have the label: fewer to select than all of them.
    selectors->push_back({*core::Matcher::Create(core::MatchType::kRegexMatch,
                                                 std::string(name), ".+")});
  }
  auto sets = SelectLabelSets(*selectors, start, end, ctx);
  if (!sets.ok()) return QueryFailed(sets.status());
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
  if (!AppendStrings(values, ctx, &out)) return QueryFailed(ctx.status());
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
  if (const std::string* text = request.param("limit");
      text != nullptr && !text->empty() && !absl::SimpleAtoi(*text, &limit)) {
    return BadData("limit must be a number");
  }
  const std::string* metric = request.param("metric");
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
                        .add("type", entries[i].second.type)
                        .add("help", entries[i].second.help)
                        .add("unit", entries[i].second.unit)
                        .str(),
                    "]");
  }
  out.push_back('}');
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::Query(const HttpRequest& request) const {
  auto time = TimeParam(request, "time", NowMs());
  if (!time.ok()) return BadParam("time", View(time.status()));
  auto limits = LimitsOf(request);
  if (!limits.ok()) return BadParam("timeout", View(limits.status()));
  const std::string* text = request.param("query");
  auto expr = query::ParseExpr(text != nullptr ? *text : "");
  if (!expr.ok()) return BadParam("query", View(expr.status()));
  core::QueryContext ctx(*limits, [&request] { return request.ClientGone(); });
  auto value = engine_.Instant(**expr, *time, ctx);
  if (!value.ok()) return QueryFailed(value.status());
  std::string out(kAnswerStart);
  if (!query::AppendResultJson(*value, &out, [&](size_t bytes) {
        return ctx.AddResultBytes(bytes);
      })) {
    return QueryFailed(ctx.status());
  }
  AppendStatsIfAsked(request, ctx, &out);
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::QueryRange(const HttpRequest& request) const {
  auto param = [&](std::string_view name) {
    const std::string* text = request.param(name);
    return text != nullptr ? std::string_view(*text) : std::string_view();
  };
  auto start = ParsePromTime(param("start"));
  if (!start.ok()) return BadParam("start", View(start.status()));
  auto end = ParsePromTime(param("end"));
  if (!end.ok()) return BadParam("end", View(end.status()));
  if (*end < *start) {
    return BadParam("end", "end timestamp must not be before start time");
  }
  auto step = ParsePromDuration(param("step"));
  if (!step.ok()) {
    double seconds = 0;
    if (absl::SimpleAtod(std::string(param("step")), &seconds) &&
        seconds <= 0) {
      return BadParam("step",
                      "zero or negative query resolution step widths are not "
                      "accepted. Try a positive integer");
    }
    return BadParam("step", View(step.status()));
  }
  // As Prometheus: (end - start) / step points past the first.
  if ((*end - *start) / *step > kMaxPointsPerSeries) {
    return BadData(
        "exceeded maximum resolution of 11,000 points per timeseries. Try "
        "decreasing the query resolution (?step=XX)");
  }
  auto limits = LimitsOf(request);
  if (!limits.ok()) return BadParam("timeout", View(limits.status()));
  const std::string* text = request.param("query");
  auto expr = query::ParseExpr(text != nullptr ? *text : "");
  if (!expr.ok()) return BadData(View(expr.status()));
  core::QueryContext ctx(*limits, [&request] { return request.ClientGone(); });
  auto value = engine_.Range(**expr, *start, *end, *step, ctx);
  if (!value.ok()) return QueryFailed(value.status());
  std::string out(kAnswerStart);
  if (!query::AppendResultJson(*value, &out, [&](size_t bytes) {
        return ctx.AddResultBytes(bytes);
      })) {
    return QueryFailed(ctx.status());
  }
  AppendStatsIfAsked(request, ctx, &out);
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::Import(const HttpRequest& request) {
  std::string_view encoding = request.header("Content-Encoding");
  std::string inflated;
  std::string_view body = request.body;
  if (encoding == "gzip") {
    if (absl::Status s =
            Gunzip(request.body, write_limits_.import_max_bytes, &inflated);
        !s.ok()) {
      return BadData(View(s));
    }
    body = inflated;
  } else if (!encoding.empty() && encoding != "identity") {
    return BadData(absl::StrCat("unsupported Content-Encoding \"",
                                std::string(encoding),
                                "\" (expected gzip or none)"));
  }
  // 1. Parse every line; series as written map to their samples.
  struct Pending {
    int64_t first_line = 0;
    core::Labels labels;
    std::vector<query::Point> points;
    core::SeriesRef ref{};
  };
  std::vector<Pending> pending;
  absl::flat_hash_map<std::string, size_t> index;  // labels as written
  const int64_t oldest = store_->OldestAppendable();
  core::TextSample sample;
  std::string key;
  int64_t line_number = 0;
  while (!body.empty()) {
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    auto parsed = core::ParseSampleLine(line, sample);
    if (!parsed.ok()) {
      return BadData(absl::StrCat("line ", line_number, ": ",
                                  std::string(View(parsed.status()))));
    }
    if (!*parsed) continue;
    if (sample.t < oldest) {
      return BadData(absl::StrCat("line ", line_number, ": sample at ",
                                  sample.t,
                                  " is older than the retention (oldest "
                                  "accepted ",
                                  oldest, ")"));
    }
    key.clear();
    for (const auto& l : sample.labels) {
      absl::StrAppend(&key, l.name, "\xff", l.value, "\xff");
    }
    auto [it, fresh] = index.try_emplace(key, pending.size());
    if (fresh) {
      pending.push_back({line_number, sample.labels, {}, {}});
    }
    pending[it->second].points.push_back({sample.t, sample.v});
  }
  // 2. Check every series' labels and the room for new ones.
  uint64_t new_series = 0;
  for (auto& p : pending) {
    auto ref = store_->Find(p.labels);
    if (ref.ok()) {
      p.ref = *ref;
    } else if (absl::IsNotFound(ref.status())) {
      ++new_series;
    } else {
      return BadData(absl::StrCat("line ", p.first_line, ": ",
                                  std::string(View(ref.status()))));
    }
  }
  const uint64_t max_series = store_->options().max_series;
  const uint64_t series = store_->Stats().series;
  if (max_series != 0 && new_series > 0 &&
      (series >= max_series || new_series > max_series - series)) {
    return BadData(absl::StrCat("the import adds ", new_series,
                                " series to the store's ", series,
                                ": more than --max-series ", max_series));
  }
  // 3. Create the new series: a failure here (a concurrent write took the
  // last room) leaves empty series behind, never samples.
  for (auto& p : pending) {
    auto ref = store_->GetOrCreate(p.labels);
    if (!ref.ok()) {
      return BadData(absl::StrCat("line ", p.first_line, ": ",
                                  std::string(View(ref.status()))));
    }
    p.ref = *ref;
  }
  // 4. Append, each series in time order.
  WriteTally tally;
  for (auto& p : pending) {
    std::stable_sort(
        p.points.begin(), p.points.end(),
        [](const query::Point& a, const query::Point& b) { return a.t < b.t; });
    for (const auto& point : p.points) {
      switch (store_->Append(p.ref, point.t, point.v)) {
        case core::AppendResult::kAppended:
        case core::AppendResult::kDuplicate:
          ++tally.stored;
          break;
        case core::AppendResult::kOutOfOrder:
          tally.Reject(WriteRejection::kOutOfOrder, 1, [&] {
            return absl::StrCat("out of order sample at ", point.t,
                                " (series of line ", p.first_line, ")");
          });
          break;
        case core::AppendResult::kConflict:
          tally.Reject(WriteRejection::kConflict, 1, [&] {
            return absl::StrCat("duplicate sample for timestamp ", point.t,
                                " with another value (series of line ",
                                p.first_line, ")");
          });
          break;
        case core::AppendResult::kTooOld:
          tally.Reject(WriteRejection::kTooOld, 1, [&] {
            return absl::StrCat("sample at ", point.t,
                                " is older than the retention");
          });
          break;
        case core::AppendResult::kUnknownSeries:
          tally.Reject(WriteRejection::kSeriesDropped, 1,
                       [] { return std::string("series dropped meanwhile"); });
          break;
      }
    }
  }
  samples_written_.fetch_add(tally.stored, std::memory_order_relaxed);
  uint64_t rejected = 0;
  for (int i = 0; i < kWriteRejections; ++i) {
    rejected_[i].fetch_add(tally.rejected[i], std::memory_order_relaxed);
    rejected += tally.rejected[i];
  }
  if (rejected == 0) return HttpResponse::Empty(204);
  return BadData(absl::StrCat(rejected, " samples rejected (", tally.stored,
                              " stored); first: ", tally.first_error));
}

}  // namespace keel::tools
