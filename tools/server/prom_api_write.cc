// PromApi's writes: remote-write and the text-format import.
#include <zlib.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "core/query/value.h"
#include "core/series/series_text_format.h"
#include "tools/server/internal/prom_api_answer.h"
#include "tools/server/prom_api.h"

namespace keel::tools {
namespace {

using tools_internal::BadData;
using tools_internal::NowMs;
using tools_internal::View;

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

// The answer to a write while the forwarding queue is full: 429, so that
// the sender keeps the samples and retries.
HttpResponse QueueFull() {
  HttpResponse full = HttpResponse::Error(
      429,
      "the remote-write forwarding queue is full "
      "(remote-write-queue-max-bytes): its destinations are behind; retry");
  full.headers = "Retry-After: 5\r\n";
  return full;
}

}  // namespace

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
  ForwardRecord* forward = nullptr;  // collects what the store appended

  void Reject(WriteRejection reason, uint64_t samples,
              absl::FunctionRef<std::string()> why) {
    if (samples == 0) return;
    rejected[static_cast<int>(reason)] += samples;
    if (first_error.empty()) first_error = why();
  }

  // Counts one sample's append: stored, or rejected with its reason.
  // `where` ends the first error's message (which series, when known).
  void Count(core::AppendResult result, int64_t t, const std::string& where) {
    switch (result) {
      case core::AppendResult::kAppended:
      case core::AppendResult::kDuplicate:
        ++stored;
        break;
      case core::AppendResult::kOutOfOrder:
        Reject(WriteRejection::kOutOfOrder, 1, [&] {
          return absl::StrCat("out of order sample at ", t, where);
        });
        break;
      case core::AppendResult::kConflict:
        Reject(WriteRejection::kConflict, 1, [&] {
          return absl::StrCat("duplicate sample for timestamp ", t,
                              " with another value", where);
        });
        break;
      case core::AppendResult::kTooOld:  // retention moved meanwhile
        Reject(WriteRejection::kTooOld, 1, [&] {
          return absl::StrCat("sample at ", t, " is older than the retention",
                              where);
        });
        break;
      case core::AppendResult::kUnknownSeries:
        Reject(WriteRejection::kSeriesDropped, 1,
               [&] { return absl::StrCat("series dropped meanwhile", where); });
        break;
    }
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
  bool over_new_series_limit = false;
  absl::StatusOr<std::optional<core::SeriesRef>> found =
      store_->GetOrCreateIf(std::move(labels), [&] {
        over_new_series_limit =
            tally.new_series >= write_limits_.max_new_series_per_request;
        tally.new_series += !over_new_series_limit;
        return !over_new_series_limit;
      });
  if (over_new_series_limit) {
    tally.Reject(WriteRejection::kNewSeriesLimit, kept, [&] {
      return absl::StrCat("more than ",
                          write_limits_.max_new_series_per_request,
                          " new series in one request "
                          "(--max-new-series-per-request)");
    });
    return;
  }
  absl::StatusOr<core::SeriesRef> ref =
      found.ok() ? absl::StatusOr<core::SeriesRef>(**found) : found.status();
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
  if (tally.forward != nullptr) {
    tally.forward->BeginSeries();
    for (const prompb::Label& l : series.labels()) {
      tally.forward->AddLabel(l.name(), l.value());
    }
  }
  for (const prompb::Sample& s : series.samples()) {
    const int64_t t = s.timestamp();
    if (t > newest_allowed || t < oldest_allowed) continue;
    const core::AppendResult result = store_->Append(*ref, t, s.value());
    // Only what is new: a duplicate was forwarded when it first came.
    if (tally.forward != nullptr && result == core::AppendResult::kAppended) {
      tally.forward->AddSample(t, s.value());
    }
    tally.Count(result, t, std::string());
  }
  if (tally.forward != nullptr) tally.forward->EndSeries();
}

std::optional<HttpResponse> PromApi::Forward(const ForwardRecord& record) {
  if (forwarder_ == nullptr || record.empty()) return std::nullopt;
  absl::Status s = forwarder_->Commit(record);
  if (s.ok()) return std::nullopt;
  return HttpResponse::Error(
      503, absl::StrCat("stored, but not queued for remote-write (retry): ",
                        std::string(s.message())));
}

HttpResponse PromApi::Write(const HttpRequest& request) {
  write_requests_.fetch_add(1, std::memory_order_relaxed);
  auto fail = [&](int status, std::string_view reason) {
    write_failures_.fetch_add(1, std::memory_order_relaxed);
    return HttpResponse::Error(status, reason);
  };
  std::string_view encoding = request.Header("Content-Encoding");
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
  if (forwarder_ != nullptr && !forwarder_->AdmitWrite()) {
    write_failures_.fetch_add(1, std::memory_order_relaxed);
    return QueueFull();
  }
  if (memory_ != nullptr) {
    if (auto refused =
            memory_->RefuseWrite(*decoded_size, "remote-write request")) {
      write_failures_.fetch_add(1, std::memory_order_relaxed);
      return *std::move(refused);
    }
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
  ForwardRecord forward;
  if (forwarder_ != nullptr) tally.forward = &forward;
  ForEachRemoteWriteSeries(decoded, [&](const prompb::TimeSeries& series) {
    WriteSeries(series, newest_allowed, tally);
  }).IgnoreError();  // checked above
  if (auto unqueued = Forward(forward)) {
    write_failures_.fetch_add(1, std::memory_order_relaxed);
    return *std::move(unqueued);
  }
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

HttpResponse PromApi::Import(const HttpRequest& request) {
  // The body as received: a gzip body decompresses to more, which the
  // store's growth then shows to the next request.
  if (forwarder_ != nullptr && !forwarder_->AdmitWrite()) return QueueFull();
  if (memory_ != nullptr) {
    if (auto refused = memory_->RefuseWrite(request.body.size(), "import")) {
      return *std::move(refused);
    }
  }
  std::string_view encoding = request.Header("Content-Encoding");
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
    auto found = store_->Find(p.labels);
    if (!found.ok()) {
      return BadData(absl::StrCat("line ", p.first_line, ": ",
                                  std::string(View(found.status()))));
    }
    if (found->has_value()) {
      p.ref = **found;
    } else {
      ++new_series;
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
  ForwardRecord forward;
  if (forwarder_ != nullptr) tally.forward = &forward;
  for (auto& p : pending) {
    std::stable_sort(
        p.points.begin(), p.points.end(),
        [](const query::Point& a, const query::Point& b) { return a.t < b.t; });
    const std::string where =
        absl::StrCat(" (series of line ", p.first_line, ")");
    if (tally.forward != nullptr) {
      tally.forward->BeginSeries();
      for (const core::Label& l : p.labels) {
        tally.forward->AddLabel(l.name, l.value);
      }
    }
    for (const auto& point : p.points) {
      const core::AppendResult result = store_->Append(p.ref, point.t, point.v);
      if (tally.forward != nullptr && result == core::AppendResult::kAppended) {
        tally.forward->AddSample(point.t, point.v);
      }
      tally.Count(result, point.t, where);
    }
    if (tally.forward != nullptr) tally.forward->EndSeries();
  }
  if (auto unqueued = Forward(forward)) return *std::move(unqueued);
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
