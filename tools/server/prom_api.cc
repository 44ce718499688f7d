#include "keel/tools/server/prom_api.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "keel/core/selector.h"
#include "keel/tools/json.h"
#include "keel/tools/server/prom_time.h"

namespace keel::tools {
namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max() / 2;
// Prometheus' staleness marker: a NaN with this exact payload.
constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;

bool IsStale(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

[[gnu::cold]] HttpResponse BadData(std::string_view reason) {
  return HttpResponse::Json(400, JsonObject()
                                     .add("status", "error")
                                     .add("errorType", "bad_data")
                                     .add("error", reason)
                                     .str());
}

[[gnu::cold]] HttpResponse BadData(const absl::Status& status) {
  return BadData(
      std::string_view(status.message().data(), status.message().size()));
}

// A query's answer is built in place, so that a large one is never copied:
// AnswerStart's text, the data, then AnswerEnd.
constexpr std::string_view kAnswerStart = R"({"status":"success","data":)";
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

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Whether `text`, which did not parse as a selector, is some other PromQL
// expression (a function call, a range, an operator, a number, ...) rather
// than a broken selector: outside braces and quotes a selector holds only a
// metric name.
bool LooksLikeExpression(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\n\r");
  if (first == std::string_view::npos) return false;
  text = text.substr(first, text.find_last_not_of(" \t\n\r") - first + 1);
  if (text[0] >= '0' && text[0] <= '9') return true;
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'' || c == '`') {
      quote = c;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth < 0) return true;
    } else if (depth == 0 && !(std::isalnum(static_cast<unsigned char>(c)) ||
                               c == '_' || c == ':')) {
      return true;
    }
  }
  return false;
}

[[gnu::noinline]] absl::StatusOr<std::vector<core::Matcher>> ParseQuery(
    std::string_view text) {
  auto matchers = core::ParseSelector(text);
  if (!matchers.ok()) {
    if (LooksLikeExpression(text)) {
      return absl::InvalidArgumentError("unsupported expression");
    }
    // A selector may be long: the error quotes its start.
    constexpr size_t kQuoted = 256;
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid selector \"", std::string(text.substr(0, kQuoted)),
        text.size() > kQuoted ? "...\": " : "\": ",
        std::string(matchers.status().message())));
  }
  if (std::all_of(matchers->begin(), matchers->end(),
                  [](const core::Matcher& m) { return m.matches_empty(); })) {
    return absl::InvalidArgumentError(
        "vector selector must contain at least one non-empty matcher");
  }
  return matchers;
}

absl::StatusOr<int64_t> TimeParam(const HttpRequest& request,
                                  std::string_view name, int64_t fallback) {
  const std::string* text = request.param(name);
  if (text == nullptr || text->empty()) return fallback;
  auto t = ParsePromTime(*text);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid parameter \"", std::string(name),
                     "\": ", std::string(t.status().message())));
  }
  return t;
}

using Entry = core::SeriesSet::Entry;

// Label sets in Prometheus' order: pair by pair, name then value.
bool LabelsLess(const Entry* a, const Entry* b) {
  return std::lexicographical_compare(
      a->labels.begin(), a->labels.end(), b->labels.begin(), b->labels.end(),
      [](const core::Label& x, const core::Label& y) {
        return x.name != y.name ? x.name < y.name : x.value < y.value;
      });
}

// A set's series ordered by their label sets, as Prometheus answers them.
std::vector<const Entry*> SortedByLabels(const core::SeriesSet& set) {
  std::vector<const Entry*> sorted;
  sorted.reserve(set.series().size());
  for (const auto& entry : set.series()) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), LabelsLess);
  return sorted;
}

void AppendLabelsJson(const core::Labels& labels, std::string* out) {
  out->push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->push_back(',');
    *out += JsonQuote(labels[i].name);
    out->push_back(':');
    *out += JsonQuote(labels[i].value);
  }
  out->push_back('}');
}

// [seconds, "value"] as Prometheus writes a sample: the time as seconds
// with up to three decimals (exact: no double rounding), the value as Go's
// strconv.FormatFloat(v, 'f', -1, 64).
void AppendSampleJson(int64_t t, double v, std::string* out) {
  out->push_back('[');
  int64_t seconds = t / 1000;
  int64_t millis = t % 1000;
  if (millis < 0) {
    millis = -millis;
    if (seconds == 0) out->push_back('-');
  }
  absl::StrAppend(out, seconds);
  if (millis != 0) {
    char frac[4] = {static_cast<char>('0' + millis / 100),
                    static_cast<char>('0' + millis / 10 % 10),
                    static_cast<char>('0' + millis % 10), 0};
    size_t n = frac[2] != '0' ? 3 : frac[1] != '0' ? 2 : 1;
    out->push_back('.');
    out->append(frac, n);
  }
  out->append(",\"");
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[400];  // a fixed-notation double has at most ~330 digits
    auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
    out->append(buf, r.ptr);
  }
  out->append("\"]");
}

}  // namespace

void PromApi::Register(HttpServer* server) {
  server->Route("POST", "/api/v1/write",
                [this](const HttpRequest& r) { return Write(r); },
                {.max_body_bytes = write_limits_.body.max_body_bytes,
                 .kind = RequestKind::kWrite,
                 .needs_auth = true});
  for (const char* method : {"GET", "POST"}) {
    server->Route(method, "/api/v1/series",
                  [this](const HttpRequest& r) { return Series(r); },
                  {.kind = RequestKind::kQuery});
    server->Route(method, "/api/v1/query",
                  [this](const HttpRequest& r) { return Query(r); },
                  {.kind = RequestKind::kQuery});
    server->Route(method, "/api/v1/query_range",
                  [this](const HttpRequest& r) { return QueryRange(r); },
                  {.kind = RequestKind::kQuery});
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
  // Prometheus' status codes: 503 for a timeout, 499 (client closed) for a
  // cancelled query, 422 for one past a limit.
  int code = 422;
  std::string_view type = "execution";
  if (absl::IsDeadlineExceeded(status)) {
    queries_timed_out_.fetch_add(1, std::memory_order_relaxed);
    code = 503;
    type = "timeout";
  } else if (absl::IsCancelled(status)) {
    queries_canceled_.fetch_add(1, std::memory_order_relaxed);
    code = 499;
    type = "canceled";
  } else {
    queries_over_limits_.fetch_add(1, std::memory_order_relaxed);
  }
  return HttpResponse::Json(
      code, JsonObject()
                .add("status", "error")
                .add("errorType", type)
                .add("error", std::string_view(status.message().data(),
                                               status.message().size()))
                .str());
}

HttpResponse PromApi::Series(const HttpRequest& request) const {
  std::vector<std::vector<core::Matcher>> selectors;
  for (const auto& [name, value] : request.params) {
    if (name != "match[]") continue;
    auto matchers = ParseQuery(value);
    if (!matchers.ok()) return BadData(matchers.status());
    selectors.push_back(*std::move(matchers));
  }
  if (selectors.empty()) return BadData("no match[] parameter provided");
  auto start = TimeParam(request, "start", kMinTime);
  if (!start.ok()) return BadData(start.status());
  auto end = TimeParam(request, "end", kMaxTime);
  if (!end.ok()) return BadData(end.status());
  if (*end < *start) {
    return BadData(
        "invalid parameter \"end\": end timestamp must not be before start "
        "time");
  }
  core::QueryContext ctx(query_limits_,
                         [&request] { return request.ClientGone(); });
  // Selects stay alive so that the entries they own can be sorted together.
  std::vector<core::SeriesSet> sets;
  absl::flat_hash_set<core::SeriesRef> seen;
  std::vector<const Entry*> entries;
  for (const auto& matchers : selectors) {
    auto set = store_->Select(matchers, *start, *end, ctx);
    if (!set.ok()) return QueryFailed(set.status());
    sets.push_back(*std::move(set));
  }
  for (const auto& set : sets) {
    for (const auto* entry : SortedByLabels(set)) {
      if (seen.insert(entry->ref).second) entries.push_back(entry);
    }
  }
  if (sets.size() > 1) std::sort(entries.begin(), entries.end(), LabelsLess);
  std::string out(kAnswerStart);
  out.push_back('[');
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!ctx.Work() || !Charged(ctx, &out, [&] {
          if (i > 0) out.push_back(',');
          AppendLabelsJson(entries[i]->labels, &out);
        })) {
      return QueryFailed(ctx.status());
    }
  }
  out.push_back(']');
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::Query(const HttpRequest& request) const {
  const std::string* query = request.param("query");
  if (query == nullptr) return BadData("invalid parameter \"query\": missing");
  auto matchers = ParseQuery(*query);
  if (!matchers.ok()) return BadData(matchers.status());
  auto time = TimeParam(request, "time", NowMs());
  if (!time.ok()) return BadData(time.status());
  core::QueryContext ctx(query_limits_,
                         [&request] { return request.ClientGone(); });
  auto set = store_->Select(*matchers, *time - kLookbackMs, *time, ctx);
  if (!set.ok()) return QueryFailed(set.status());
  std::string out(kAnswerStart);
  out += R"({"resultType":"vector","result":[)";
  bool first = true;
  for (const auto* entry_ptr : SortedByLabels(*set)) {
    const auto& entry = *entry_ptr;
    bool found = false;
    double v = 0;
    for (auto it = set->Samples(entry); it.Next();) {
      if (!ctx.Work()) return QueryFailed(ctx.status());
      found = true;
      v = it.v();
    }
    if (!found || IsStale(v)) continue;
    if (!ctx.AddSamples(1) || !Charged(ctx, &out, [&] {
          if (!first) out.push_back(',');
          out += R"({"metric":)";
          AppendLabelsJson(entry.labels, &out);
          out += R"(,"value":)";
          // Prometheus stamps an instant result with the query time.
          AppendSampleJson(*time, v, &out);
          out.push_back('}');
        })) {
      return QueryFailed(ctx.status());
    }
    first = false;
  }
  out += "]}";
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::QueryRange(const HttpRequest& request) const {
  const std::string* query = request.param("query");
  if (query == nullptr) return BadData("invalid parameter \"query\": missing");
  for (const char* name : {"start", "end", "step"}) {
    if (request.param(name) == nullptr) {
      return BadData(absl::StrCat("invalid parameter \"", name, "\": missing"));
    }
  }
  auto start = TimeParam(request, "start", 0);
  if (!start.ok()) return BadData(start.status());
  auto end = TimeParam(request, "end", 0);
  if (!end.ok()) return BadData(end.status());
  if (*end < *start) {
    return BadData(
        "invalid parameter \"end\": end timestamp must not be before start "
        "time");
  }
  auto step = ParsePromDuration(*request.param("step"));
  if (!step.ok()) {
    return BadData(absl::StrCat("invalid parameter \"step\": ",
                                std::string(step.status().message())));
  }
  if ((*end - *start) / *step >= kMaxPointsPerSeries) {
    return BadData(
        "exceeded maximum resolution of 11,000 points per timeseries. Try "
        "decreasing the query resolution (?step=XX)");
  }
  auto matchers = ParseQuery(*query);
  if (!matchers.ok()) return BadData(matchers.status());
  core::QueryContext ctx(query_limits_,
                         [&request] { return request.ClientGone(); });
  auto set = store_->Select(*matchers, *start - kLookbackMs, *end, ctx);
  if (!set.ok()) return QueryFailed(set.status());
  std::string out(kAnswerStart);
  out += R"({"resultType":"matrix","result":[)";
  bool first_series = true;
  // One series' points, at most kMaxPointsPerSeries, counted against the
  // result bytes as they are written.
  std::string values;
  for (const auto* entry_ptr : SortedByLabels(*set)) {
    const auto& entry = *entry_ptr;
    values.clear();
    auto it = set->Samples(entry);
    bool have_next = it.Next();
    bool have_last = false;
    int64_t last_t = 0;
    double last_v = 0;
    for (int64_t ts = *start; ts <= *end; ts += *step) {
      if (!ctx.Work()) return QueryFailed(ctx.status());
      while (have_next && it.t() <= ts) {
        have_last = true;
        last_t = it.t();
        last_v = it.v();
        have_next = it.Next();
        if (!ctx.Work()) return QueryFailed(ctx.status());
      }
      if (!have_last || last_t < ts - kLookbackMs || IsStale(last_v)) continue;
      if (!ctx.AddSamples(1) || !Charged(ctx, &values, [&] {
            if (!values.empty()) values.push_back(',');
            AppendSampleJson(ts, last_v, &values);
          })) {
        return QueryFailed(ctx.status());
      }
    }
    if (values.empty()) continue;
    if (!Charged(ctx, &out, [&] {
          if (!first_series) out.push_back(',');
          out += R"({"metric":)";
          AppendLabelsJson(entry.labels, &out);
          out += R"(,"values":[)";
        })) {
      return QueryFailed(ctx.status());
    }
    out += values;  // charged as it was written
    out += "]}";
    first_series = false;
  }
  out += "]}";
  return AnswerEnd(std::move(out));
}

}  // namespace keel::tools
