// PromApi's routes, its queries (/api/v1/query, /api/v1/query_range) and
// what every query-like endpoint shares: the limits and the failed answer.
// The series and label endpoints are in prom_api_series.cc, the writes in
// prom_api_write.cc.
#include "tools/server/prom_api.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/query/parser.h"
#include "core/query/result_json.h"
#include "core/query/value.h"
#include "tools/json.h"
#include "tools/server/internal/prom_api_answer.h"
#include "tools/server/prom_time.h"

namespace keel::tools {
namespace {

using tools_internal::AnswerEnd;
using tools_internal::ApiError;
using tools_internal::BadData;
using tools_internal::BadParam;
using tools_internal::kAnswerStart;
using tools_internal::NowMs;
using tools_internal::TimeParam;
using tools_internal::View;

// With a non-empty stats parameter (Prometheus' stats=all), what the
// query's context counted, inside the data object where Prometheus puts its
// stats: samples.peakSamples as Prometheus names the most samples held at
// once, and under "keel" the bytes of the answer's data and of the labels
// copied from the store. keel has no per-query arena, so these counts are
// its measure of a query's memory. `out` ends with the data object's '}'.
void AppendStatsIfAsked(const HttpRequest& request,
                        const core::QueryContext& ctx, std::string* out) {
  const std::string* stats = request.Param("stats");
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
                                                    .Add("version", "2.42.0")
                                                    .Add("revision", "")
                                                    .Add("branch", "")
                                                    .Add("buildUser", "")
                                                    .Add("buildDate", "")
                                                    .Add("goVersion", "")
                                                    .Add("application", "keel")
                                                    .str(),
                                                "}"));
  });
  for (const char* method : {"GET", "POST"}) {
    server->Route(method, "/api/v1/query_exemplars", [](const HttpRequest&) {
      return HttpResponse::Json(200, absl::StrCat(kAnswerStart, "[]}"));
    });
  }
}

HttpResponse PromApi::QueryFailed(const core::QueryContext& ctx,
                                  const absl::Status& status) const {
  if (memory_ != nullptr) {
    if (auto refused = memory_->RefuseQuery(ctx, query_limits_)) {
      return *std::move(refused);
    }
  }
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
  if (memory_ != nullptr) limits = memory_->ClampQuery(limits);
  const std::string* timeout = request.Param("timeout");
  if (timeout == nullptr || timeout->empty()) return limits;
  auto ms = ParsePromDuration(*timeout);
  if (!ms.ok()) return ms.status();
  if (limits.timeout_ms <= 0 || *ms < limits.timeout_ms) {
    limits.timeout_ms = *ms;
  }
  return limits;
}

HttpResponse PromApi::Answer(const HttpRequest& request,
                             core::QueryContext& ctx,
                             query::Value value) const {
  const std::string* stats = request.Param("stats");
  const bool with_stats = stats != nullptr && !stats->empty();
  const uint64_t limit = ctx.limits().max_result_bytes;
  const uint64_t bound = query::ResultJsonBound(value);
  if (!with_stats && bound > HttpBodyStream::kPieceBytes &&
      ctx.result_bytes() <= limit && bound <= limit - ctx.result_bytes()) {
    // Large, and it fits whatever its values' texts: streamed, never held
    // whole. (A smaller answer is one write with its Content-Length.)
    auto shared = std::make_shared<const query::Value>(std::move(value));
    return HttpResponse::Streamed(200, [shared](HttpBodyStream& stream) {
      std::string* out = stream.out();
      out->append(kAnswerStart);
      if (!query::AppendResultJson(*shared, out, [&](size_t) {
            return stream.size() < HttpBodyStream::kPieceBytes ||
                   stream.Flush();
          })) {
        return false;
      }
      out->push_back('}');
      return true;
    });
  }
  std::string out(kAnswerStart);
  if (!query::AppendResultJson(value, &out, [&](size_t bytes) {
        return ctx.AddResultBytes(bytes);
      })) {
    return QueryFailed(ctx, ctx.status());
  }
  AppendStatsIfAsked(request, ctx, &out);
  return AnswerEnd(std::move(out));
}

HttpResponse PromApi::Query(const HttpRequest& request) const {
  auto time = TimeParam(request, "time", NowMs());
  if (!time.ok()) return BadParam("time", View(time.status()));
  auto limits = LimitsOf(request);
  if (!limits.ok()) return BadParam("timeout", View(limits.status()));
  const std::string* text = request.Param("query");
  auto expr = query::ParseExpr(text != nullptr ? *text : "");
  if (!expr.ok()) return BadParam("query", View(expr.status()));
  core::QueryContext ctx(*limits, [&request] { return request.ClientGone(); });
  auto value = engine_.Instant(**expr, *time, ctx);
  if (!value.ok()) return QueryFailed(ctx, value.status());
  return Answer(request, ctx, std::move(*value));
}

HttpResponse PromApi::QueryRange(const HttpRequest& request) const {
  auto param = [&](std::string_view name) {
    const std::string* text = request.Param(name);
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
  const std::string* text = request.Param("query");
  auto expr = query::ParseExpr(text != nullptr ? *text : "");
  if (!expr.ok()) return BadData(View(expr.status()));
  core::QueryContext ctx(*limits, [&request] { return request.ClientGone(); });
  auto value = engine_.Range(**expr, *start, *end, *step, ctx);
  if (!value.ok()) return QueryFailed(ctx, value.status());
  return Answer(request, ctx, std::move(*value));
}

}  // namespace keel::tools
