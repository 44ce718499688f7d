#include "tools/server/memory_admission.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/server/internal/prom_api_answer.h"

namespace keel::tools {

std::optional<HttpResponse> MemoryAdmission::RefuseWrite(
    uint64_t bytes, std::string_view what) {
  const uint64_t headroom = budget_->Headroom();
  if (headroom > 0 && bytes <= headroom) return std::nullopt;
  rejected_writes_.fetch_add(1, std::memory_order_relaxed);
  HttpResponse refused = HttpResponse::Error(
      429,
      absl::StrCat("keel is at its memory limit: resident ",
                   budget_->resident(), " bytes of the limit ",
                   budget_->limit_bytes(), " (--memory-limit) leave ", headroom,
                   " bytes, and this ", std::string(what), " needs ", bytes,
                   "; nothing of it was stored, retry later"));
  refused.headers = absl::StrCat("Retry-After: ", kRetryAfterSeconds, "\r\n");
  return refused;
}

core::QueryLimits MemoryAdmission::ClampQuery(
    const core::QueryLimits& limits) const {
  const uint64_t share = budget_->Headroom() / 3;
  core::QueryLimits clamped = limits;
  clamped.max_result_bytes = std::min(limits.max_result_bytes, share);
  clamped.max_samples = std::min(limits.max_samples, share / kBytesPerSample);
  return clamped;
}

std::optional<HttpResponse> MemoryAdmission::RefuseQuery(
    const core::QueryContext& ctx, const core::QueryLimits& configured) {
  if (ctx.ok() || !absl::IsResourceExhausted(ctx.status())) {
    return std::nullopt;
  }
  const core::QueryLimits& used = ctx.limits();
  const bool bytes_clamped =
      used.max_result_bytes < configured.max_result_bytes;
  const bool by_memory =
      (used.max_samples < configured.max_samples &&
       ctx.samples() > used.max_samples) ||
      (bytes_clamped && (ctx.result_bytes() > used.max_result_bytes ||
                         ctx.selected_bytes() > used.max_result_bytes));
  if (!by_memory) return std::nullopt;
  rejected_queries_.fetch_add(1, std::memory_order_relaxed);
  return tools_internal::ApiError(
      422, "execution",
      absl::StrCat("query would take keel over its memory limit: it may hold ",
                   used.max_result_bytes,
                   " bytes of labels, as many of "
                   "answer and ",
                   used.max_samples,
                   " samples, a third each of the room left under the limit ",
                   "of ", budget_->limit_bytes(),
                   " bytes (--memory-limit; resident ", budget_->resident(),
                   ")"));
}

}  // namespace keel::tools
