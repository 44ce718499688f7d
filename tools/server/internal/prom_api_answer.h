// The pieces of a Prometheus API answer that PromApi's endpoints share
// (prom_api.cc, prom_api_series.cc, prom_api_write.cc): the error answers
// with Prometheus' errorType and words, the success envelope built in place,
// the result bytes charged to a query's context, time parameters.
//
// Thread safety: stateless functions.
#ifndef KEEL_TOOLS_SERVER_INTERNAL_PROM_API_ANSWER_H_
#define KEEL_TOOLS_SERVER_INTERNAL_PROM_API_ANSWER_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/series/query_context.h"
#include "tools/json.h"
#include "tools/server/http_server.h"
#include "tools/server/prom_time.h"

namespace keel::tools::tools_internal {

inline std::string_view View(const absl::Status& status) {
  return std::string_view(status.message().data(), status.message().size());
}

inline HttpResponse ApiError(int code, std::string_view type,
                             std::string_view why) {
  return HttpResponse::Json(code, JsonObject()
                                      .Add("status", "error")
                                      .Add("errorType", type)
                                      .Add("error", why)
                                      .str());
}

[[gnu::cold]] inline HttpResponse BadData(std::string_view reason) {
  return ApiError(400, "bad_data", reason);
}

[[gnu::cold]] inline HttpResponse BadParam(std::string_view name,
                                           std::string_view reason) {
  return BadData(absl::StrCat("invalid parameter \"", std::string(name),
                              "\": ", std::string(reason)));
}

// A query's answer is built in place, so that a large one is never copied:
// kAnswerStart's text, the data, then AnswerEnd.
inline constexpr char kAnswerStart[] = R"({"status":"success","data":)";
inline HttpResponse AnswerEnd(std::string out) {
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

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A time parameter, `fallback` when absent or empty.
inline absl::StatusOr<int64_t> TimeParam(const HttpRequest& request,
                                         std::string_view name,
                                         int64_t fallback) {
  const std::string* text = request.Param(name);
  if (text == nullptr || text->empty()) return fallback;
  return ParsePromTime(*text);
}

}  // namespace keel::tools::tools_internal

#endif  // KEEL_TOOLS_SERVER_INTERNAL_PROM_API_ANSWER_H_
