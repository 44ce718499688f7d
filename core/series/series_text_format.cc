#include "core/series/series_text_format.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/io/line_reader.h"
#include "core/series/internal/series_text_cursor.h"

namespace keel::core {
namespace {

// Go's math.NaN(), what Prometheus stores for a NaN it parses.
constexpr uint64_t kPrometheusNaN = 0x7ff8000000000001ull;

bool ParseValue(std::string_view token, double& out) {
  std::string_view body = token;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  auto lower = [](std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(c));
    return r;
  };
  std::string word = lower(body);
  if (word == "inf" || word == "infinity") {
    out = negative ? -INFINITY : INFINITY;
    return true;
  }
  if (word == "nan") {
    out = std::bit_cast<double>(kPrometheusNaN);
    return true;
  }
  if (body.empty() || body[0] == '+' || body[0] == '-') return false;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), out);
  if (ec == std::errc::result_out_of_range) {
    // Go's ParseFloat returns ±Inf for overflow, 0 for underflow.
    out = std::strtod(std::string(body).c_str(), nullptr);
  } else if (ec != std::errc() || end != body.data() + body.size()) {
    return false;
  }
  if (negative) out = -out;
  return true;
}

absl::Status ReadLabelSet(core_internal::TextCursor& in, Labels& labels) {
  while (true) {
    in.SkipSpace();
    if (in.Consume('}')) return absl::OkStatus();
    std::string_view name = in.ReadName(/*metric=*/false);
    if (name.empty()) return in.Error("expected a label name or '}'");
    in.SkipSpace();
    if (!in.Consume('=')) {
      return in.Error(
          absl::StrCat("expected '=' after label \"", std::string(name), "\""));
    }
    in.SkipSpace();
    if (in.Peek() != '"')
      return in.Error("expected '\"' to open a label value");
    Label label{std::string(name), {}};
    if (auto s = in.ReadQuoted(label.value); !s.ok()) return s;
    labels.push_back(std::move(label));
    in.SkipSpace();
    if (in.Consume(',')) continue;
    if (in.Consume('}')) return absl::OkStatus();
    return in.Error("expected ',' or '}'");
  }
}

}  // namespace

absl::StatusOr<bool> ParseSampleLine(std::string_view line, TextSample& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  core_internal::TextCursor in(line);
  in.SkipSpace();
  if (in.AtEnd() || in.Peek() == '#') return false;
  out.labels.clear();
  std::string_view metric = in.ReadName(/*metric=*/true);
  if (!metric.empty()) {
    out.labels.push_back({std::string(kMetricNameLabel), std::string(metric)});
  }
  in.SkipSpace();
  if (in.Consume('{')) {
    if (auto s = ReadLabelSet(in, out.labels); !s.ok()) return s;
  } else if (metric.empty()) {
    return in.Error("expected a metric name or '{'");
  }
  in.SkipSpace();
  std::size_t value_at = in.pos();
  std::string_view value = in.ReadToken();
  if (value.empty()) return in.Error("expected a value");
  if (!ParseValue(value, out.v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "at byte ", value_at, ": bad value \"", std::string(value), "\""));
  }
  in.SkipSpace();
  std::size_t time_at = in.pos();
  std::string_view time = in.ReadToken();
  if (time.empty()) return in.Error("expected a timestamp in milliseconds");
  auto [end, ec] =
      std::from_chars(time.data(), time.data() + time.size(), out.t);
  if (ec != std::errc() || end != time.data() + time.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("at byte ", time_at, ": bad timestamp \"",
                     std::string(time), "\" (integer milliseconds)"));
  }
  in.SkipSpace();
  if (!in.AtEnd()) return in.Error("unexpected text after the timestamp");
  return true;
}

std::string FormatSampleLine(const Labels& labels, int64_t t, double v) {
  std::string value;
  if (std::isnan(v)) {
    value = "NaN";
  } else if (std::isinf(v)) {
    value = v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    value.assign(buf, end);
  }
  return absl::StrCat(LabelsToString(labels), " ", value, " ", t);
}

absl::StatusOr<uint64_t> ForEachSampleInFile(
    const std::string& path, absl::FunctionRef<absl::Status(TextSample&)> fn) {
  auto reader = LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  TextSample sample;
  std::string_view line;
  while (reader->Next(&line)) {
    absl::StatusOr<bool> parsed = ParseSampleLine(line, sample);
    absl::Status status = !parsed.ok() ? parsed.status()
                          : *parsed    ? fn(sample)
                                       : absl::OkStatus();
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat(path, ":", reader->line_number(), ": ",
                                       status.message()));
    }
  }
  // A read error, a line over the limit or no memory: the input was not
  // read to its end, and nothing may pass it off as whole.
  if (!reader->status().ok()) return reader->status();
  return static_cast<uint64_t>(reader->line_number());
}

absl::StatusOr<ImportSummary> ImportTextFile(const std::string& path,
                                             SeriesStore& store) {
  ImportSummary summary;
  const uint64_t series_before = store.Stats().series;
  absl::StatusOr<uint64_t> lines =
      ForEachSampleInFile(path, [&](TextSample& sample) -> absl::Status {
        ++summary.samples;
        const int64_t t = sample.t;
        auto result = store.Append(std::move(sample.labels), t, sample.v);
        if (!result.ok()) return result.status();
        switch (*result) {
          case AppendResult::kAppended:
            ++summary.appended;
            summary.min_time = std::min(summary.min_time, t);
            summary.max_time = std::max(summary.max_time, t);
            break;
          case AppendResult::kDuplicate:
            ++summary.duplicates;
            break;
          case AppendResult::kOutOfOrder:
            ++summary.out_of_order;
            break;
          case AppendResult::kConflict:
            ++summary.conflicts;
            break;
          case AppendResult::kTooOld:
            ++summary.too_old;
            break;
          case AppendResult::kUnknownSeries:
            return absl::InternalError("series vanished during the append");
        }
        return absl::OkStatus();
      });
  if (!lines.ok()) return lines.status();
  summary.lines = *lines;
  summary.new_series = store.Stats().series - series_before;
  return summary;
}

}  // namespace keel::core
