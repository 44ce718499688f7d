#include "tools/args.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace keel::tools {

Args::Args(std::vector<std::string> words) : words_(std::move(words)) {}

absl::Status Args::Check(const std::vector<std::string_view>& valued,
                         const std::vector<std::string_view>& switches) {
  auto contains = [](const auto& list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (size_t i = 0; i < words_.size(); ++i) {
    std::string_view word = words_[i];
    if (word.size() < 3 || !word.starts_with("--")) {
      positional_.emplace_back(word);
      continue;
    }
    std::string_view body = word.substr(2);
    size_t eq = body.find('=');
    std::string name(body.substr(0, eq));
    if (contains(switches, name)) {
      if (eq != std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value"));
      }
      flags_.emplace_back(name, "");
    } else if (contains(valued, name)) {
      if (eq != std::string_view::npos) {
        flags_.emplace_back(name, std::string(body.substr(eq + 1)));
      } else if (i + 1 < words_.size()) {
        flags_.emplace_back(name, words_[++i]);
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  return absl::OkStatus();
}

bool Args::Has(std::string_view name) const {
  return std::any_of(flags_.begin(), flags_.end(),
                     [&](const auto& f) { return f.first == name; });
}

std::string Args::Get(std::string_view name, std::string fallback) const {
  for (auto it = flags_.rbegin(); it != flags_.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return fallback;
}

std::vector<std::string> Args::GetAll(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [flag, value] : flags_) {
    if (flag == name) values.push_back(value);
  }
  return values;
}

absl::StatusOr<uint64_t> Args::GetUint(std::string_view name,
                                       uint64_t fallback) const {
  if (!Has(name)) return fallback;
  uint64_t value = 0;
  std::string text = Get(name);
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", std::string(name), ": not a whole number: \"", text, "\""));
  }
  return value;
}

absl::StatusOr<double> Args::GetDouble(std::string_view name,
                                       double fallback) const {
  if (!Has(name)) return fallback;
  double value = 0;
  std::string text = Get(name);
  if (!absl::SimpleAtod(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", std::string(name), ": not a number: \"", text, "\""));
  }
  return value;
}

int Fail(std::string_view command, const absl::Status& status, int code) {
  std::fprintf(stderr, "keel %.*s: %s\n", static_cast<int>(command.size()),
               command.data(), std::string(status.message()).c_str());
  return code;
}

}  // namespace keel::tools
