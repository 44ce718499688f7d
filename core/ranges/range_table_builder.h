// RangeTableBuilder: reads IP range feeds and freezes them into a RangeTable.
//
// Use it to load the iptoasn and ip-location-db files, or ranges you make
// yourself, into a table:
//
//   keel::core::RangeTableBuilder builder(keel::core::OverlapPolicy::kLast);
//   if (auto s = builder.AddFile("ip2asn-v4.tsv.gz"); !s.ok()) return s;
//   if (auto s = builder.AddFile("ip2asn-v6.tsv"); !s.ok()) return s;
//   absl::StatusOr<keel::core::RangeTable> table = std::move(builder).Build();
//
// Files (plain or gzip, told apart by content), one layout a file, told by
// its first line:
// - iptoasn TSV: start, end, AS number, country, description. A row with
//   AS 0 ("None", "Not routed") is a gap: it sets the range to no record.
// - ip-location-db CSV `start,end,asn,organisation` (fields may be quoted,
//   "" for a quote inside) and `start,end,country`.
// Every row is checked (field count, addresses, start <= end in one family,
// AS number 0..4294967295, country two letters or None); an error names the
// file, the line and the field. Rows may come in any order.
//
// Fields and merging: a row sets field groups: the AS group (AS number and
// name) and the country group. TSV rows set both, an asn CSV row the AS
// group, a country CSV row the country group. Each group is painted on its
// own, over all files in the order given, so an asn CSV and a country CSV
// of the same ranges combine into records with all three fields, and v4 and
// v6 files simply add up. Two rows overlap when their ranges intersect and
// they set a common group; OverlapPolicy decides (error: refuse, naming both
// lines; last: later rows paint over earlier ones where they cover them, as
// MaxMind DB writers do; first: earlier rows win). Adjacent ranges with the
// same record merge into one range.
//
// A repeated row (the same range, the same values) is an overlap too, and
// the error says it duplicates the earlier line: under kError it most often
// means a feed given or concatenated twice, which is worth knowing; pyasn and
// MaxMind users who expect repeats to pass (their trees keep the last insert)
// get that with kLast or kFirst, where a repeat changes nothing.
//
// Thread safety: none; build on one thread. The table it makes is immutable.
#ifndef KEEL_CORE_RANGES_RANGE_TABLE_BUILDER_H_
#define KEEL_CORE_RANGES_RANGE_TABLE_BUILDER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ip.h"
#include "core/ranges/range_table.h"

namespace keel::core {

enum class OverlapPolicy { kError, kFirst, kLast };

// "error", "first" or "last".
absl::StatusOr<OverlapPolicy> ParseOverlapPolicy(std::string_view text);

// The groups of fields one row sets, and their values (0 / empty: none).
struct RangeFields {
  bool sets_as = false;
  uint32_t asn = 0;
  std::string_view name;
  bool sets_country = false;
  std::string_view country;  // empty, or two letters of either case
};

namespace core_internal {
struct PendingRow;
}  // namespace core_internal

class RangeTableBuilder {
 public:
  explicit RangeTableBuilder(OverlapPolicy overlap = OverlapPolicy::kError);
  ~RangeTableBuilder();
  RangeTableBuilder(RangeTableBuilder&&) noexcept;
  RangeTableBuilder& operator=(RangeTableBuilder&&) noexcept;

  // Reads every row of a feed file. On error nothing from the file is kept.
  absl::Status AddFile(std::string_view path);

  // Adds one range; `source` and `line` name it in errors (overlaps).
  absl::Status AddRange(IpAddress first, IpAddress last,
                        const RangeFields& fields, std::string_view source = "",
                        int64_t line = 0);

  // Rows added so far.
  size_t rows() const;

  // Resolves overlaps, deduplicates records and names, and freezes. The
  // only errors are overlaps under OverlapPolicy::kError and limits (a name
  // longer than 65,535 bytes, names totalling more than 4 GiB).
  absl::StatusOr<RangeTable> Build() &&;

 private:
  absl::Status ParseFileLine(std::string_view line, int layout, uint32_t source,
                             int64_t line_number, std::string* scratch);
  uint32_t NameId(std::string_view name);
  uint32_t SourceId(std::string_view source);

  OverlapPolicy overlap_;
  std::vector<core_internal::PendingRow> rows_;
  std::vector<std::string> names_;  // names_[0] is the empty name
  absl::flat_hash_map<std::string, uint32_t> name_ids_;
  std::vector<std::string> sources_;
};

// The table the command line's `--table PATH ...` names: a single image,
// opened as `holding` says (the safe copy unless the caller knows the file
// will not change while the table lives), or feed files built into one
// table with `overlap`. A feed without a single row is refused, naming it.
absl::StatusOr<RangeTable> LoadRangeTable(
    const std::vector<std::string>& paths, OverlapPolicy overlap,
    ImageHolding holding = ImageHolding::kCopied);

}  // namespace keel::core

#endif  // KEEL_CORE_RANGES_RANGE_TABLE_BUILDER_H_
