#include "core/query/internal/eval_types.h"

#include <algorithm>
#include <cstring>

namespace keel::query_internal {
namespace {

void AppendField(std::string_view s, std::string* key) {
  uint32_t n = static_cast<uint32_t>(s.size());
  key->append(reinterpret_cast<const char*>(&n), sizeof(n));
  key->append(s);
}

}  // namespace

LabelPool::LabelPool() : empty_(Intern({})) {}

LabelsRef LabelPool::Intern(core::Labels labels) {
  key_.clear();
  for (const core::Label& l : labels) {
    AppendField(l.name, &key_);
    AppendField(l.value, &key_);
  }
  auto it = sets_.find(key_);
  if (it != sets_.end()) return &it->second;
  return &sets_.emplace(key_, std::move(labels)).first->second;
}

uint64_t TotalPoints(const EvalMatrix& m) {
  uint64_t n = 0;
  for (const EvalSeries& s : m) n += s.points.size();
  return n;
}

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind() == ExprKind::kParen) p = p->As<ParenExpr>().expr.get();
  return *p;
}

absl::Status ExecutionError(std::string_view message) {
  return absl::FailedPreconditionError(
      absl::string_view(message.data(), message.size()));
}

std::string_view GetLabel(const core::Labels& labels, std::string_view name) {
  for (const core::Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

int CompareLabels(const core::Labels& a, const core::Labels& b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (int c = a[i].name.compare(b[i].name); c != 0) return c < 0 ? -1 : 1;
    if (int c = a[i].value.compare(b[i].value); c != 0) return c < 0 ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

core::Labels WithoutMetricName(const core::Labels& labels) {
  core::Labels out;
  out.reserve(labels.size());
  for (const core::Label& l : labels) {
    if (l.name != core::kMetricNameLabel) out.push_back(l);
  }
  return out;
}

bool InSignature(std::string_view name, bool on,
                 const std::vector<std::string>& names) {
  bool listed = std::binary_search(names.begin(), names.end(), name);
  return on ? listed : !listed && name != core::kMetricNameLabel;
}

void SignatureKey(const core::Labels& labels, bool on,
                  const std::vector<std::string>& names, std::string* key) {
  key->clear();
  for (const core::Label& l : labels) {
    if (!InSignature(l.name, on, names)) continue;
    AppendField(l.name, key);
    AppendField(l.value, key);
  }
}

}  // namespace keel::query_internal
