// The PromQL functions of Prometheus 2.42 (promql/parser/functions.go): each
// one's argument types, how many trailing arguments are optional, and its
// result type, which the parser checks calls against.
//
//   const keel::query::Function* f = keel::query::FindFunction("rate");
//   f->arg_types;  // {kMatrix}
//
// Thread safety: the table is immutable.
#ifndef KEEL_CORE_QUERY_FUNCTIONS_H_
#define KEEL_CORE_QUERY_FUNCTIONS_H_

#include <span>
#include <string_view>

#include "core/query/ast.h"

namespace keel::query {

struct Function {
  std::string_view name;
  std::span<const ValueType> arg_types;
  // 0: exactly one argument per arg_types entry. Otherwise the last entry is
  // optional and may be given up to `variadic` times (-1: any number of
  // times, as label_join's source labels).
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
  // Works on native histograms only, which keel does not store: the parser
  // refuses calls to it as unsupported.
  bool native_histogram = false;
};

// The function named `name` (case-sensitive, as in Prometheus), or null.
const Function* FindFunction(std::string_view name);

}  // namespace keel::query

#endif  // KEEL_CORE_QUERY_FUNCTIONS_H_
