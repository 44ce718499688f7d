#include "core/query/value.h"

namespace keel::query {

std::string_view ResultTypeName(const Value& value) {
  switch (value.index()) {
    case 0:
      return "scalar";
    case 1:
      return "string";
    case 2:
      return "vector";
    default:
      return "matrix";
  }
}

ErrorType ClassifyError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return ErrorType::kNone;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnimplemented:
      return ErrorType::kBadData;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorType::kTimeout;
    case absl::StatusCode::kCancelled:
      return ErrorType::kCanceled;
    default:
      return ErrorType::kExecution;
  }
}

std::string_view ErrorTypeName(ErrorType type) {
  switch (type) {
    case ErrorType::kNone:
      return "";
    case ErrorType::kBadData:
      return "bad_data";
    case ErrorType::kExecution:
      return "execution";
    case ErrorType::kTimeout:
      return "timeout";
    case ErrorType::kCanceled:
      return "canceled";
  }
  return "";
}

}  // namespace keel::query
