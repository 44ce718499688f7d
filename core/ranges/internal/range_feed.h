// Parsing one line of an IP range feed: the iptoasn TSV and the two
// ip-location-db CSV layouts (see range_table_builder.h).
#ifndef KEEL_CORE_RANGES_INTERNAL_RANGE_FEED_H_
#define KEEL_CORE_RANGES_INTERNAL_RANGE_FEED_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ip.h"
#include "core/ranges/range_table_builder.h"

namespace keel::core::core_internal {

enum class FeedLayout { kIptoasnTsv, kAsnCsv, kCountryCsv };

struct FeedRow {
  IpAddress first;
  IpAddress last;
  RangeFields fields;  // views into the line or the scratch string
};

// The layout a file's first line shows, or an error saying what it found.
absl::StatusOr<FeedLayout> DetectFeedLayout(std::string_view line);

// Parses and checks one line; an error says which field is wrong and why
// (the caller adds the file and line). `scratch` holds unquoted CSV text.
absl::Status ParseFeedLine(std::string_view line, FeedLayout layout,
                           FeedRow* row, std::string* scratch);

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_RANGES_INTERNAL_RANGE_FEED_H_
