// keel query EXPR [--time T] [--start S --end E --step D]
//                 (--snapshot FILE | --url URL) [--format json|table]
//
// Evaluates a PromQL expression, as an instant query at --time (default:
// now) or as a range query, against a snapshot restored into a store in
// this process, or against a running keel serve (or Prometheus) at --url
// through its /api/v1/query or query_range. Prints the answer as the
// Prometheus API's JSON, or as a table: one line per sample, labels, time
// (seconds) and value separated by tabs.
//
// --url takes http://HOST:PORT (no TLS): the request is one HTTP/1.1 GET
// with Connection: close (tools/http_client.h), and the answer is read up to
// kMaxAnswerBytes.
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/query/engine.h"
#include "core/query/parser.h"
#include "core/query/result_json.h"
#include "core/query/value.h"
#include "snapshot/reader.h"
#include "tools/command.h"
#include "tools/http_client.h"
#include "tools/server/prom_time.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "query";
constexpr size_t kMaxAnswerBytes = size_t{1} << 30;

// --- A small JSON reader, for --url --format table: the answer's shape is
// the Prometheus API's, nothing else is needed.
struct Json {
  enum Kind { kNull, kText, kArray, kObject } kind = kNull;
  std::string text;  // a string's value, or a number's or literal's text
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;

  const Json* Field(std::string_view name) const {
    for (const auto& [k, v] : fields) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  absl::StatusOr<Json> Read() {
    Json j;
    if (!Value(j, 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the answer is not JSON (at byte ", pos_, ")"));
    }
    return j;
  }

 private:
  void Space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool Eat(char c) {
    Space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool String(std::string& out) {
    if (!Eat('"')) return false;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return false;
      c = s_[pos_++];
      switch (c) {
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (pos_ + 4 > s_.size() ||
              !absl::SimpleHexAtoi(std::string(s_.substr(pos_, 4)), &cp)) {
            return false;
          }
          pos_ += 4;
          // UTF-8; a surrogate half stays as it is (labels are UTF-8).
          if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | cp >> 6));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out.push_back(static_cast<char>(0xE0 | cp >> 12));
            out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default:
          out.push_back(c);
      }
    }
    return Eat('"');
  }
  bool Value(Json& j, int depth) {
    if (depth > 64) return false;
    Space();
    if (pos_ >= s_.size()) return false;
    const char c = s_[pos_];
    if (c == '"') {
      j.kind = Json::kText;
      return String(j.text);
    }
    if (c == '[') {
      ++pos_;
      j.kind = Json::kArray;
      if (Eat(']')) return true;
      do {
        j.items.emplace_back();
        if (!Value(j.items.back(), depth + 1)) return false;
      } while (Eat(','));
      return Eat(']');
    }
    if (c == '{') {
      ++pos_;
      j.kind = Json::kObject;
      if (Eat('}')) return true;
      do {
        j.fields.emplace_back();
        if (!String(j.fields.back().first) || !Eat(':') ||
            !Value(j.fields.back().second, depth + 1)) {
          return false;
        }
      } while (Eat(','));
      return Eat('}');
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && std::string_view(",]} \n\r\t").find(s_[pos_]) ==
                                   std::string_view::npos) {
      ++pos_;
    }
    j.kind = Json::kText;
    j.text = std::string(s_.substr(start, pos_ - start));
    return pos_ > start;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

absl::StatusOr<int64_t> SecondsToMs(const Json& j) {
  double seconds = 0;
  if (!absl::SimpleAtod(j.text, &seconds)) {
    return absl::InvalidArgumentError("bad timestamp " + j.text);
  }
  return static_cast<int64_t>(std::llround(seconds * 1000));
}

double ValueOf(const Json& j) { return std::strtod(j.text.c_str(), nullptr); }

core::Labels LabelsOf(const Json* metric) {
  core::Labels labels;
  if (metric == nullptr) return labels;
  for (const auto& [k, v] : metric->fields) labels.push_back({k, v.text});
  return labels;
}

// The data of a Prometheus API answer as a query::Value.
absl::StatusOr<query::Value> ValueFromJson(const Json& data) {
  const Json* type = data.Field("resultType");
  const Json* result = data.Field("result");
  auto bad = absl::InvalidArgumentError("unexpected answer shape");
  if (type == nullptr || result == nullptr) return bad;
  auto point = [&](const Json& p) -> absl::StatusOr<query::Point> {
    if (p.items.size() != 2) return bad;
    auto t = SecondsToMs(p.items[0]);
    if (!t.ok()) return t.status();
    return query::Point{*t, ValueOf(p.items[1])};
  };
  if (type->text == "scalar" || type->text == "string") {
    auto p = point(*result);
    if (!p.ok()) return p.status();
    if (type->text == "scalar") return query::Scalar{p->t, p->v};
    return query::String{p->t, result->items[1].text};
  }
  if (type->text == "vector") {
    query::Vector v;
    for (const Json& s : result->items) {
      const Json* value = s.Field("value");
      if (value == nullptr) return bad;
      auto p = point(*value);
      if (!p.ok()) return p.status();
      v.push_back({LabelsOf(s.Field("metric")), p->t, p->v});
    }
    return v;
  }
  query::Matrix m;
  for (const Json& s : result->items) {
    query::Series series{LabelsOf(s.Field("metric")), {}};
    if (const Json* values = s.Field("values")) {
      for (const Json& pj : values->items) {
        auto p = point(pj);
        if (!p.ok()) return p.status();
        series.points.push_back(*p);
      }
    }
    m.push_back(std::move(series));
  }
  return m;
}

// --- Output.
std::string LabelsText(const core::Labels& labels) {
  std::string name, rest;
  for (const auto& l : labels) {
    if (l.name == "__name__") {
      name = l.value;
      continue;
    }
    if (!rest.empty()) rest.push_back(',');
    rest += l.name;
    rest.push_back('=');
    query::AppendJsonString(l.value, &rest);
  }
  return absl::StrCat(name, "{", rest, "}");
}

std::string TimeText(int64_t t) {
  std::string s;
  query::AppendTimestamp(t, &s);
  return s;
}

std::string ValueText(double v) {
  std::string s;
  query::AppendValueText(v, &s);
  return s;
}

std::string Table(const query::Value& value) {
  std::string out;
  if (const auto* s = std::get_if<query::Scalar>(&value)) {
    absl::StrAppend(&out, TimeText(s->t), "\t", ValueText(s->v), "\n");
  } else if (const auto* str = std::get_if<query::String>(&value)) {
    absl::StrAppend(&out, TimeText(str->t), "\t", str->v, "\n");
  } else if (const auto* vec = std::get_if<query::Vector>(&value)) {
    for (const auto& s : *vec) {
      absl::StrAppend(&out, LabelsText(s.metric), "\t", TimeText(s.t), "\t",
                      ValueText(s.v), "\n");
    }
  } else {
    for (const auto& series : std::get<query::Matrix>(value)) {
      const std::string labels = LabelsText(series.metric);
      for (const auto& p : series.points) {
        absl::StrAppend(&out, labels, "\t", TimeText(p.t), "\t", ValueText(p.v),
                        "\n");
      }
    }
  }
  return out;
}

// --- Evaluation.
struct Request {
  std::string expr;
  bool range = false;
  std::string time, start, end, step;  // as given
};

absl::StatusOr<query::Value> EvalSnapshot(const Request& r,
                                          const std::string& path) {
  auto expr = query::ParseExpr(r.expr);
  if (!expr.ok()) return expr.status();
  auto store = snapshot::RestoreSnapshot(path);
  if (!store.ok()) return store.status();
  query::Engine engine(**store);
  core::QueryContext ctx(core::QueryLimits{});
  if (!r.range) {
    int64_t t = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    if (!r.time.empty()) {
      auto parsed = ParsePromTime(r.time);
      if (!parsed.ok()) return parsed.status();
      t = *parsed;
    }
    return engine.Instant(**expr, t, ctx);
  }
  auto start = ParsePromTime(r.start);
  if (!start.ok()) return start.status();
  auto end = ParsePromTime(r.end);
  if (!end.ok()) return end.status();
  auto step = ParsePromDuration(r.step);
  if (!step.ok()) return step.status();
  return engine.Range(**expr, *start, *end, *step, ctx);
}

std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// GETs `target` from the server at `url` (http://HOST:PORT) on a connection
// of its own. Errors name the flag.
absl::StatusOr<HttpAnswer> HttpGetUrl(const std::string& url,
                                      const std::string& target) {
  auto name_flag = [&](const absl::Status& s) {
    return absl::Status(s.code(),
                        absl::StrCat("--url ", url, ": ", s.message()));
  };
  absl::StatusOr<HttpAddress> address = ParseHttpUrl(url);
  if (!address.ok()) return name_flag(address.status());
  HttpClient client(address->host, address->port,
                    {.max_answer_bytes = kMaxAnswerBytes});
  absl::StatusOr<HttpAnswer> answer = client.Send(
      "GET", target, "Accept: application/json\r\nConnection: close\r\n");
  if (!answer.ok()) return name_flag(answer.status());
  return answer;
}

struct QueryFlags {
  Request request;
  std::string snapshot, url;
  std::string format = "json";
};

int RunQuery(const QueryFlags& flags) {
  const std::string& format = flags.format;
  Request r = flags.request;
  r.range = !r.start.empty();

  std::string json;
  absl::StatusOr<query::Value> value = absl::UnknownError("");
  if (!flags.snapshot.empty()) {
    value = EvalSnapshot(r, InputPath(flags.snapshot));
    if (!value.ok()) return Fail(kName, value.status(), 1);
    if (format == "json") {
      json = R"({"status":"success","data":)";
      query::AppendResultJson(*value, &json, [](size_t) { return true; });
      json += "}";
    }
  } else {
    std::string target =
        absl::StrCat(r.range ? "/api/v1/query_range" : "/api/v1/query",
                     "?query=", Escape(r.expr));
    if (r.range) {
      absl::StrAppend(&target, "&start=", Escape(r.start),
                      "&end=", Escape(r.end), "&step=", Escape(r.step));
    } else if (!r.time.empty()) {
      absl::StrAppend(&target, "&time=", Escape(r.time));
    }
    auto answer = HttpGetUrl(flags.url, target);
    if (!answer.ok()) return Fail(kName, answer.status(), 1);
    if (answer->status != 200) {
      return Fail(kName,
                  absl::UnknownError(absl::StrCat("HTTP ", answer->status, ": ",
                                                  answer->body)),
                  1);
    }
    json = std::move(answer->body);
    if (format == "table") {
      auto parsed = JsonReader(json).Read();
      if (!parsed.ok()) return Fail(kName, parsed.status(), 1);
      const Json* data = parsed->Field("data");
      if (data == nullptr) {
        return Fail(kName, absl::UnknownError("no data in the answer"), 1);
      }
      value = ValueFromJson(*data);
      if (!value.ok()) return Fail(kName, value.status(), 1);
    }
  }
  std::string out = format == "json" ? json + "\n" : Table(*value);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) {
    return Fail(kName, absl::InternalError("writing stdout failed"), 1);
  }
  return 0;
}

CommandRun SetUpQuery(CLI::App& app) {
  auto flags = std::make_shared<QueryFlags>();
  Request& r = flags->request;
  app.add_option("EXPR", r.expr, "the PromQL expression")->required();
  CLI::Option* time = app.add_option(
      "--time", r.time,
      "instant query time: Unix seconds or RFC 3339 (default: now)");
  CLI::Option* start = app.add_option(
      "--start", r.start, "range query start (with --end and --step)");
  CLI::Option* end = app.add_option("--end", r.end, "range query end");
  CLI::Option* step = app.add_option(
      "--step", r.step, "range query resolution: seconds or a duration (15s)");
  start->needs(end)->needs(step)->excludes(time);
  end->needs(start);
  step->needs(start);
  CLI::Option_group* source = app.add_option_group("source", "exactly one");
  source->add_option("--snapshot", flags->snapshot,
                     "a snapshot file, restored into this process");
  source->add_option("--url", flags->url,
                     "a running keel serve or Prometheus: http://HOST:PORT");
  source->require_option(1);
  app.add_option("--format", flags->format,
                 "json: the Prometheus API's answer; table: a line a sample, "
                 "labels<TAB>time<TAB>value")
      ->check(CLI::IsMember({"json", "table"}));
  return [flags] { return RunQuery(*flags); };
}

}  // namespace

KEEL_COMMAND("query",
             "evaluate PromQL against a snapshot or a running server (--url)",
             SetUpQuery);

}  // namespace keel::tools
