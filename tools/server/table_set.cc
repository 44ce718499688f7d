#include "tools/server/table_set.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/prefixes/prefix_loader.h"
#include "core/ranges/range_table_builder.h"
#include "tools/server/event_log.h"

namespace keel::tools {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

absl::StatusOr<std::optional<core::RangeTable>> LoadRanges(
    const std::vector<std::string>& paths) {
  if (paths.empty()) return std::nullopt;
  auto start = std::chrono::steady_clock::now();
  // Copied: the server outlives any promise that the file stays as it is,
  // and a mapped image truncated or rewritten in place kills it.
  auto table = core::LoadRangeTable(paths, core::OverlapPolicy::kError,
                                    core::ImageHolding::kCopied);
  if (!table.ok()) return table.status();
  LogEvent(absl::StrFormat(
      "ip2asn: %d IPv4 and %d IPv6 rows, %d records, %d bytes from %s in "
      "%.3f s",
      table->v4_rows(), table->v6_rows(), table->records(),
      table->table_bytes(), absl::StrJoin(paths, ", "), SecondsSince(start)));
  return std::optional<core::RangeTable>(*std::move(table));
}

absl::StatusOr<std::unique_ptr<core::PrefixTable<uint32_t>>> LoadPrefixes(
    const std::string& path) {
  if (path.empty()) return nullptr;
  auto start = std::chrono::steady_clock::now();
  auto table = std::make_unique<core::PrefixTable<uint32_t>>();
  auto stats = core::LoadPrefixTable(path, {}, *table);
  if (!stats.ok()) return stats.status();
  LogEvent(absl::StrFormat("pfx2as: %d prefixes, %d bytes from %s in %.3f s",
                           table->size(), table->memory_bytes(), path,
                           SecondsSince(start)));
  return table;
}

}  // namespace keel::tools
