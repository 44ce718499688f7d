// Loaders for BGP prefix-to-origin files, into a PrefixTable<uint32_t> of
// origin AS numbers or row by row.
//
// Use LoadPrefixTable to build a table from a dump; ReadPrefixFile when you
// want the rows themselves (a benchmark, a converter).
//
//   keel::core::PrefixTable<uint32_t> table;
//   auto stats = keel::core::LoadPrefixTable("ipasn.dat.gz", {}, table);
//   if (!stats.ok()) return stats.status();  // "ipasn.dat.gz:12: ..."
//
// Formats, told apart by the shape of the first data row (fields split by
// TAB), after which every row must have that shape:
//   pyasn / RouteViews   `prefix/len<TAB>asn`            2 fields, '/' in 1st
//   RIPE RIS whois dump  `asn<TAB>prefix/len<TAB>peers`  3 fields, '/' in 2nd
//   CAIDA pfx2as         `address<TAB>length<TAB>asn`    3 fields, no '/'
// Lines that are empty or start with ';' (pyasn), '%' (RIS) or '#' are
// comments, in every format. A file may mix IPv4 and IPv6 rows, and may be
// gzip-compressed (told by its content, core/io/line_reader.h).
// The origin field may hold a CAIDA multi-origin `1_2` or AS set `1,2` (RIS:
// `{1,2}`): the first AS is kept and the others are counted.
//
// Errors: a bad row is an error naming the file, the line and the field,
// unless skip_bad (then counted and skipped). A prefix with host bits set
// past its length ("10.0.0.1/8") is a bad row unless mask (then masked).
//
// Thread safety: the functions share nothing; LoadPrefixTable is a writer of
// `table` (see prefix_table.h).
#ifndef KEEL_CORE_PREFIXES_PREFIX_LOADER_H_
#define KEEL_CORE_PREFIXES_PREFIX_LOADER_H_

#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/ip.h"
#include "core/prefixes/prefix_table.h"

namespace keel::core {

enum class PrefixFileFormat { kPyasn, kRis, kCaida };

struct PrefixLoadOptions {
  bool skip_bad = false;  // count bad rows and go on instead of failing
  bool mask = false;      // clear host bits past the length instead of failing
};

struct PrefixLoadStats {
  PrefixFileFormat format = PrefixFileFormat::kPyasn;
  uint64_t rows = 0;           // data rows read and accepted
  uint64_t bad_rows = 0;       // rows skipped under skip_bad
  uint64_t extra_origins = 0;  // origins after the first in multi-origin rows
  uint64_t duplicates = 0;     // rows whose prefix an earlier row already set
};

// Calls row(prefix, origin) for every data row of `path`, in file order.
// Does not report duplicates (it keeps no state).
absl::StatusOr<PrefixLoadStats> ReadPrefixFile(
    std::string_view path, const PrefixLoadOptions& options,
    absl::FunctionRef<void(const Prefix&, uint32_t)> row);

// Inserts every row of `path` into `table` (a later row for the same prefix
// replaces the earlier one), published as one batch: readers see the table
// before the load or after it. On an error the rows before it stay.
absl::StatusOr<PrefixLoadStats> LoadPrefixTable(
    std::string_view path, const PrefixLoadOptions& options,
    PrefixTable<uint32_t>& table);

}  // namespace keel::core

#endif  // KEEL_CORE_PREFIXES_PREFIX_LOADER_H_
