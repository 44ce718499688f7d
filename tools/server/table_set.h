// TableSet: one loaded version of keel serve's lookup tables, the ip2asn
// RangeTable and the pfx2as PrefixTable, immutable once loaded. The server
// answers each request from the set it read at the request's start; a
// reload builds a new set beside it (table_reloader.h).
//
//   auto ranges = LoadRanges({"ip2asn-v4.tsv", "ip2asn-v6.tsv"});
//   if (!ranges.ok()) return ranges.status();  // "ip2asn-v4.tsv:12: ..."
//
// Thread safety: a TableSet is read by any number of threads at once.
#ifndef KEEL_TOOLS_SERVER_TABLE_SET_H_
#define KEEL_TOOLS_SERVER_TABLE_SET_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/prefixes/prefix_table.h"
#include "core/ranges/range_table.h"

namespace keel::tools {

struct TableSet {
  std::optional<core::RangeTable> ranges;  // absent without ip2asn files
  std::unique_ptr<core::PrefixTable<uint32_t>> prefixes;  // null without pfx2as
  absl::Time ranges_loaded = absl::InfinitePast();
  absl::Time prefixes_loaded = absl::InfinitePast();
};

// One RangeTable from the ip2asn files (TSV, CSV, gzip; or one image, copied
// into memory so that the file may change underneath), or nullopt when
// `paths` is empty. Logs what it loaded. Errors name the file and line.
absl::StatusOr<std::optional<core::RangeTable>> LoadRanges(
    const std::vector<std::string>& paths);

// The PrefixTable of a pfx2as file, or null when `path` is empty. Logs what it
// loaded. Errors name the file and line.
absl::StatusOr<std::unique_ptr<core::PrefixTable<uint32_t>>> LoadPrefixes(
    const std::string& path);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_TABLE_SET_H_
