#include "core/query/result_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <variant>

namespace keel::query {
namespace {

// Go's strconv.FormatFloat(v, fmt, -1, 64) for finite v.
void AppendGoFloat(double v, std::chars_format format, std::string* out) {
  char buf[400];  // a fixed-notation double has at most ~330 digits
  auto r = std::to_chars(buf, buf + sizeof(buf), v, format);
  out->append(buf, r.ptr);
}

void AppendSpecialOr(double v, std::chars_format format, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    AppendGoFloat(v, format, out);
  }
}

// [t, "v"] of a vector sample or matrix point.
void AppendPoint(int64_t t, double v, std::string* out) {
  out->push_back('[');
  AppendTimestamp(t, out);
  out->append(",\"");
  AppendValueText(v, out);
  out->append("\"]");
}

// A scalar's or string's time: encoding/json on float64(t) / 1000.
void AppendSeconds(int64_t t, std::string* out) {
  AppendGoFloat(static_cast<double>(t) / 1000, std::chars_format::fixed, out);
}

}  // namespace

void AppendTimestamp(int64_t t, std::string* out) {
  uint64_t u = static_cast<uint64_t>(t);
  if (t < 0) {
    out->push_back('-');
    u = 0 - u;
  }
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), u / 1000);
  out->append(buf, r.ptr);
  const unsigned frac = static_cast<unsigned>(u % 1000);
  if (frac != 0) {
    const char digits[4] = {'.', static_cast<char>('0' + frac / 100),
                            static_cast<char>('0' + frac / 10 % 10),
                            static_cast<char>('0' + frac % 10)};
    out->append(digits, 4);
  }
}

void AppendValueText(double v, std::string* out) {
  const double a = std::fabs(v);
  AppendSpecialOr(v,
                  a != 0 && (a < 1e-6 || a >= 1e21)
                      ? std::chars_format::scientific
                      : std::chars_format::fixed,
                  out);
}

namespace {

// What AppendJsonString writes for text[*i] (and, for U+2028 and U+2029,
// the bytes after it, moving *i past them): an escape, or empty for the
// byte itself.
std::string_view JsonEscape(std::string_view text, std::size_t* i,
                            char (&scratch)[6]) {
  static constexpr char kHex[] = "0123456789abcdef";
  const unsigned char c = static_cast<unsigned char>(text[*i]);
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      break;
  }
  // U+2028 and U+2029, which Go escapes for JavaScript.
  if (c == 0xE2 && *i + 2 < text.size() &&
      static_cast<unsigned char>(text[*i + 1]) == 0x80 &&
      (static_cast<unsigned char>(text[*i + 2]) & 0xFE) == 0xA8) {
    *i += 2;
    return text[*i] == '\xA8' ? "\\u2028" : "\\u2029";
  }
  if (c < 0x20 || c == '<' || c == '>' || c == '&') {
    scratch[0] = '\\';
    scratch[1] = 'u';
    scratch[2] = '0';
    scratch[3] = '0';
    scratch[4] = kHex[c >> 4];
    scratch[5] = kHex[c & 15];
    return std::string_view(scratch, 6);
  }
  return {};
}

// The bytes AppendJsonString appends.
std::size_t JsonStringSize(std::string_view text) {
  char scratch[6];
  std::size_t n = 2;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::string_view escape = JsonEscape(text, &i, scratch);
    n += escape.empty() ? 1 : escape.size();
  }
  return n;
}

// The bytes AppendLabelsJson appends.
std::size_t LabelsJsonSize(const core::Labels& labels) {
  std::size_t n = 2;
  for (const core::Label& l : labels) {
    n += JsonStringSize(l.name) + 1 + JsonStringSize(l.value) + 1;
  }
  return n;
}

// At most the bytes AppendTimestamp appends for any time within [a, b]
// (or [b, a]).
std::size_t TimestampBound(int64_t a, int64_t b) {
  const uint64_t ua = a < 0 ? 0 - static_cast<uint64_t>(a) : a;
  const uint64_t ub = b < 0 ? 0 - static_cast<uint64_t>(b) : b;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), std::max(ua, ub) / 1000);
  return static_cast<std::size_t>(r.ptr - buf) + 4 + (a < 0 || b < 0);
}

// [t,"v"] and the comma before it.
std::size_t PointBound(std::size_t timestamp) {
  return 1 + timestamp + 2 + kMaxValueTextBytes + 2 + 1;
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  char scratch[6];
  out->push_back('"');
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::string_view escape = JsonEscape(text, &i, scratch);
    if (escape.empty()) {
      out->push_back(text[i]);
    } else {
      out->append(escape);
    }
  }
  out->push_back('"');
}

void AppendLabelsJson(const core::Labels& labels, std::string* out) {
  out->push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(labels[i].name, out);
    out->push_back(':');
    AppendJsonString(labels[i].value, out);
  }
  out->push_back('}');
}

bool AppendResultJson(const Value& value, std::string* out,
                      absl::FunctionRef<bool(std::size_t)> charge) {
  size_t charged = out->size();
  auto charge_new = [&] {
    const bool go_on = charge(out->size() - charged);
    charged = out->size();  // charge may have taken what out held
    return go_on;
  };
  out->append("{\"resultType\":\"");
  out->append(ResultTypeName(value));
  out->append("\",\"result\":");
  if (const auto* s = std::get_if<Scalar>(&value)) {
    out->push_back('[');
    AppendSeconds(s->t, out);
    out->append(",\"");
    AppendSpecialOr(s->v, std::chars_format::fixed, out);
    out->append("\"]");
  } else if (const auto* str = std::get_if<String>(&value)) {
    out->push_back('[');
    AppendSeconds(str->t, out);
    out->push_back(',');
    AppendJsonString(str->v, out);
    out->push_back(']');
  } else if (const auto* vec = std::get_if<Vector>(&value)) {
    out->push_back('[');
    for (size_t i = 0; i < vec->size(); ++i) {
      const Sample& s = (*vec)[i];
      if (i > 0) out->push_back(',');
      out->append("{\"metric\":");
      AppendLabelsJson(s.metric, out);
      out->append(",\"value\":");
      AppendPoint(s.t, s.v, out);
      out->push_back('}');
      if (!charge_new()) return false;
    }
    out->push_back(']');
  } else {
    const Matrix& m = std::get<Matrix>(value);
    out->push_back('[');
    for (size_t i = 0; i < m.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append("{\"metric\":");
      AppendLabelsJson(m[i].metric, out);
      // Prometheus leaves "values" out of a series without points.
      if (!m[i].points.empty()) out->append(",\"values\":[");
      for (size_t j = 0; j < m[i].points.size(); ++j) {
        if (j > 0) out->push_back(',');
        AppendPoint(m[i].points[j].t, m[i].points[j].v, out);
        if ((j & 1023) == 1023 && !charge_new()) return false;
      }
      if (!m[i].points.empty()) out->push_back(']');
      out->push_back('}');
      if (!charge_new()) return false;
    }
    out->push_back(']');
  }
  out->push_back('}');
  return charge_new();
}

std::size_t ResultJsonBound(const Value& value) {
  // {"resultType":"matrix","result":[...]}
  std::size_t n = 32 + ResultTypeName(value).size();
  if (const auto* vec = std::get_if<Vector>(&value)) {
    for (const Sample& s : *vec) {
      n += 1 + 10 + LabelsJsonSize(s.metric) + 9 +
           PointBound(TimestampBound(s.t, s.t)) + 1;
    }
  } else if (const auto* m = std::get_if<Matrix>(&value)) {
    for (const Series& s : *m) {
      n += 1 + 10 + LabelsJsonSize(s.metric) + 11 + 2;
      if (!s.points.empty()) {
        n += s.points.size() *
             PointBound(TimestampBound(s.points.front().t, s.points.back().t));
      }
    }
  } else {
    // A scalar or a string: written out, it is small.
    std::string out;
    AppendResultJson(value, &out, [](std::size_t) { return true; });
    n = out.size();
  }
  return n;
}

}  // namespace keel::query
