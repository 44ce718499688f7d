#include "core/series/labels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace keel::core {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

[[gnu::cold]] absl::Status LabelError(const Label& label,
                                      std::string_view what) {
  std::string shown = label.name.size() > 64
                          ? absl::StrCat(label.name.substr(0, 64), "...")
                          : label.name;
  return absl::InvalidArgumentError(
      absl::StrCat("label \"", shown, "\": ", AbslView(what)));
}

}  // namespace

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), IsNameChar);
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [](char c) { return IsNameChar(c) || c == ':'; });
}

absl::Status NormalizeLabels(Labels& labels, const LabelLimits& limits) {
  std::sort(labels.begin(), labels.end(),
            [](const Label& a, const Label& b) { return a.name < b.name; });
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const Label& label = labels[i];
    if (label.name.size() > limits.max_name_bytes) {
      return LabelError(label, absl::StrCat("name longer than ",
                                            limits.max_name_bytes, " bytes"));
    }
    if (!IsValidLabelName(label.name)) {
      return LabelError(label, "name must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (i > 0 && labels[i - 1].name == label.name) {
      return LabelError(label, "name given twice");
    }
    if (label.value.size() > limits.max_value_bytes) {
      return LabelError(label, absl::StrCat("value longer than ",
                                            limits.max_value_bytes, " bytes"));
    }
    if (!IsValidUtf8(label.value)) {
      return LabelError(label, "value is not valid UTF-8");
    }
    if (label.name == kMetricNameLabel && !label.value.empty() &&
        !IsValidMetricName(label.value)) {
      return LabelError(label, absl::StrCat("metric name \"", label.value,
                                            "\" must match "
                                            "[a-zA-Z_:][a-zA-Z0-9_:]*"));
    }
  }
  std::erase_if(labels, [](const Label& l) { return l.value.empty(); });
  if (labels.empty()) {
    return absl::InvalidArgumentError("a series needs at least one label");
  }
  if (labels.size() > limits.max_labels) {
    return absl::InvalidArgumentError(absl::StrCat("series has ", labels.size(),
                                                   " labels; the limit is ",
                                                   limits.max_labels));
  }
  return absl::OkStatus();
}

std::string LabelsToString(const Labels& labels) {
  std::string out;
  for (const Label& l : labels) {
    if (l.name == kMetricNameLabel) out = l.value;
  }
  out += '{';
  bool first = true;
  for (const Label& l : labels) {
    if (l.name == kMetricNameLabel) continue;
    if (!first) out += ',';
    first = false;
    absl::StrAppend(&out, l.name, "=\"");
    for (char c : l.value) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace keel::core
