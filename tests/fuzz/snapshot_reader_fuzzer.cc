// Snapshot verify and restore (snapshot/reader.h): the input is a snapshot
// file, its framing repaired (snapshot_fixup.h). A file that restores must
// verify, and the store must hold what the file says; written back out, it
// must verify and restore to the same store.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "snapshot/reader.h"
#include "snapshot/writer.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/snapshot_fixup.h"

namespace {

keel::core::SeriesStoreOptions StoreOptions() {
  keel::core::SeriesStoreOptions options;
  options.huge_pages = false;
  options.arena_name = "fuzz_series";
  return options;
}

const std::string& ScratchDir() {
  static const std::string dir = [] {
    std::string templ = "/tmp/keel-snapshot-fuzz.XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) std::abort();
    return templ;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(keel::fuzz::AsText(data, size));
  keel::fuzz::RepairSnapshot(bytes);
  keel::fuzz::MemFile file(bytes);
  auto verified = keel::snapshot::VerifySnapshot(file.path());
  keel::snapshot::RestoreStats stats;
  auto restored =
      keel::snapshot::RestoreSnapshot(file.path(), StoreOptions(), &stats);
  if (!restored.ok()) return 0;
  FUZZ_CHECK(verified.ok())
      << "restored but did not verify: " << verified.status();
  const keel::snapshot::SnapshotInfo& info = *verified;
  keel::core::SeriesStoreStats held = (*restored)->Stats();
  FUZZ_CHECK(held.series == info.series && held.samples == info.samples)
      << held.series << "/" << held.samples << " vs " << info.series << "/"
      << info.samples;
  FUZZ_CHECK(stats.info.series == info.series &&
             stats.info.chunks == info.chunks);

  std::string path = ScratchDir() + "/again.snap";
  auto written = keel::snapshot::WriteSnapshot(
      **restored, path, keel::snapshot::WriteOptions{.keep = 1});
  FUZZ_CHECK(written.ok()) << written.status();
  auto again = keel::snapshot::RestoreSnapshot(path, StoreOptions());
  FUZZ_CHECK(again.ok()) << again.status();
  keel::core::SeriesStoreStats round = (*again)->Stats();
  FUZZ_CHECK(round.series == held.series && round.samples == held.samples &&
             round.chunks == held.chunks)
      << round.series << "/" << round.samples << "/" << round.chunks;
  unlink(path.c_str());
  return 0;
}
