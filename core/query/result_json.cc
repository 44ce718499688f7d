#include "core/query/result_json.h"

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

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        continue;
      case '\\':
        out->append("\\\\");
        continue;
      case '\n':
        out->append("\\n");
        continue;
      case '\r':
        out->append("\\r");
        continue;
      case '\t':
        out->append("\\t");
        continue;
      default:
        break;
    }
    // U+2028 and U+2029, which Go escapes for JavaScript.
    if (c == 0xE2 && i + 2 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(text[i + 2]) & 0xFE) == 0xA8) {
      out->append(text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029");
      i += 2;
      continue;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out->append(esc, 6);
    } else {
      out->push_back(static_cast<char>(c));
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
    const size_t n = out->size() - charged;
    charged = out->size();
    return charge(n);
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

}  // namespace keel::query
