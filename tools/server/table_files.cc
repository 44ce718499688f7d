#include "keel/tools/server/table_files.h"

#include <cstdio>
#include <cstring>

#include "keel/core/range_table_builder.h"

namespace keel::tools {
namespace {

// An image is binary; the feeds are text or gzip. A NUL in the first bytes
// of a file that is not gzip marks an image.
bool LooksLikeImage(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  unsigned char head[64];
  size_t n = std::fread(head, 1, sizeof(head), f);
  std::fclose(f);
  if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return false;
  return std::memchr(head, 0, n) != nullptr;
}

}  // namespace

absl::StatusOr<core::RangeTable> LoadRangeTable(
    const std::vector<std::string>& paths) {
  if (paths.size() == 1 && LooksLikeImage(paths[0])) {
    return core::RangeTable::open_mapped(paths[0]);
  }
  core::RangeTableBuilder builder(core::OverlapPolicy::kError);
  for (const std::string& path : paths) {
    if (absl::Status s = builder.AddFile(path); !s.ok()) return s;
  }
  return std::move(builder).Build();
}

}  // namespace keel::tools
