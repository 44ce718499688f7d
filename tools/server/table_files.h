// LoadRangeTable: keel serve's ip2asn table from files: feeds (iptoasn
// TSV, ip-location-db CSV, gzip of either; see core/range_table_builder.h)
// built into one RangeTable with overlaps refused, or a single image file
// (`keel table compile`), mapped. Errors name the file and line, or the
// image's fault.
//
//   absl::StatusOr<core::RangeTable> t =
//       LoadRangeTable({"ip2asn-v4.tsv", "ip2asn-v6.tsv"});
//
// Thread safety: a function sharing nothing.
#ifndef KEEL_TOOLS_SERVER_TABLE_FILES_H_
#define KEEL_TOOLS_SERVER_TABLE_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/core/range_table.h"

namespace keel::tools {

absl::StatusOr<core::RangeTable> LoadRangeTable(
    const std::vector<std::string>& paths);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_TABLE_FILES_H_
