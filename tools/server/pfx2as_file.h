// LoadPfx2asFile: reads a pyasn / RouteViews prefix file
// (`prefix/len<TAB>origin AS`, `;` comment lines, plain or gzip) into a
// PrefixTable, in one writer batch. Errors name the file, line and field.
//
//   core::PrefixTable<uint32_t> table;
//   absl::Status s = LoadPfx2asFile("pfx2as-v4.dat", &table);
//
// keel serve's own reader for the one layout its bundled data uses, until
// issue 4's loaders (CAIDA, RIPE, AS sets) are available to it.
//
// Thread safety: the caller must be the table's only writer.
#ifndef KEEL_TOOLS_SERVER_PFX2AS_FILE_H_
#define KEEL_TOOLS_SERVER_PFX2AS_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "keel/core/prefix_table.h"

namespace keel::tools {

absl::Status LoadPfx2asFile(const std::string& path,
                            core::PrefixTable<uint32_t>* table);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_PFX2AS_FILE_H_
