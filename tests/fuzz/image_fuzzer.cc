// Range table images (core/ranges/range_table.h OpenImage): the input is a
// feed, a NUL, then edits. The feed is built into a table and saved as an
// image; the edits overwrite bytes of the image, whose checksums are then
// recomputed (unless the edits say not to), so that forged counts, indices
// and names reach the structural checks behind the checksums. The image is
// opened both ways (kMapped, kCopied): the verdicts must agree; an unedited
// image must answer exactly as the built table; an opened image must answer
// consistently (every range's ends, LookupBatch as Lookup).
//
// Edits: a flags byte (bit 0: keep the checksums as they are; bit 1: cut the
// file to the length in the next 4 bytes), then records of
// [u8 where][u32 offset][u8 n][n bytes]: where's bit 0 chooses the header
// page (offset mod 4096) or the data (offset mod its size).
//
// The header's layout is private to range_table_image.cc; it is repeated
// here and checked against a saved image at start-up.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "core/io/crc32c.h"
#include "core/ranges/internal/range_format.h"
#include "core/ranges/range_table.h"
#include "core/ranges/range_table_builder.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace ci = keel::core::core_internal;
using keel::core::ImageHolding;
using keel::core::IpAddress;
using keel::core::Ipv4;
using keel::core::Ipv6;
using keel::core::RangeTable;

constexpr size_t kDataOffset = 4096;
constexpr size_t kSectionsOffset = 104;  // after magic .. counts
constexpr size_t kSectionChecksumsOffset =
    kSectionsOffset + 16 * ci::kRangeSectionCount;
constexpr size_t kHeaderChecksumOffset =
    kSectionChecksumsOffset + 4 * ci::kRangeSectionCount;

constexpr std::string_view kDefaultFeed =
    "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
    "1.0.4.0\t1.0.7.255\t38803\tAU\tGTELECOM\n"
    "8.8.8.0\t8.8.8.255\t15169\tUS\tGOOGLE\n"
    "2001:db8::\t2001:db8::ffff\t64496\tNL\tDOC\n"
    "2001:db8:1::8\t2001:db8:2::\t64497\tDE\tDOC2\n";

uint64_t Load64(const std::string& s, size_t at) {
  uint64_t v;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}
uint32_t Load32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
void Store32(std::string& s, size_t at, uint32_t v) {
  std::memcpy(s.data() + at, &v, 4);
}

uint32_t HeaderChecksum(std::string page) {
  Store32(page, kHeaderChecksumOffset, 0);
  return keel::core::Crc32c(page.data(), kDataOffset);
}

void FixChecksums(std::string& image) {
  if (image.size() < kDataOffset) return;
  for (int s = 0; s < ci::kRangeSectionCount; ++s) {
    uint64_t offset = Load64(image, kSectionsOffset + 16 * s);
    uint64_t bytes = Load64(image, kSectionsOffset + 16 * s + 8);
    uint64_t data_bytes = image.size() - kDataOffset;
    if (offset > data_bytes || bytes > data_bytes - offset) continue;
    Store32(image, kSectionChecksumsOffset + 4 * s,
            keel::core::Crc32c(image.data() + kDataOffset + offset, bytes));
  }
  Store32(image, kHeaderChecksumOffset,
          HeaderChecksum(image.substr(0, kDataOffset)));
}

// The image of `table`, through Save() (which renames, so a real file).
std::string ImageOf(const RangeTable& table) {
  static const std::string dir = [] {
    // tmpfs: Save() fsyncs the image and its directory, which on a disk
    // would cost more than the rest of an iteration.
    std::string templ = "/dev/shm/keel-image-fuzz.XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) std::abort();
    return templ;
  }();
  std::string path = dir + "/t.keel";
  if (auto s = table.Save(path); !s.ok()) {
    std::fprintf(stderr, "save: %s\n", std::string(s.message()).c_str());
    std::abort();
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  unlink(path.c_str());
  return bytes;
}

std::optional<RangeTable> Build(std::string_view feed) {
  keel::fuzz::MemFile file(feed);
  keel::core::RangeTableBuilder builder(keel::core::OverlapPolicy::kLast);
  if (!builder.AddFile(file.path()).ok()) return std::nullopt;
  auto table = std::move(builder).Build();
  if (!table.ok()) return std::nullopt;
  return std::move(*table);
}

std::vector<IpAddress> Probes(const RangeTable& table) {
  std::vector<IpAddress> probes = {
      IpAddress(Ipv4(0)), IpAddress(Ipv4(~0u)), IpAddress(Ipv6(0)),
      IpAddress(Ipv6(~static_cast<unsigned __int128>(0)))};
  table.ForEachRange([&](const IpAddress& first, const IpAddress& last,
                         const keel::core::RangeRecord&) {
    if (probes.size() < 4096) {
      probes.push_back(first);
      probes.push_back(last);
    }
  });
  return probes;
}

void CheckConsistent(const RangeTable& table,
                     const std::vector<IpAddress>& probes) {
  std::vector<Ipv4> v4;
  std::vector<Ipv6> v6;
  for (const IpAddress& a : probes) {
    auto m = table.Lookup(a);
    if (m) {
      FUZZ_CHECK(!(a < m->first) && !(m->last < a)) << a.ToString();
      auto at_first = table.Lookup(m->first);
      FUZZ_CHECK(at_first && at_first->record == m->record) << a.ToString();
    }
    if (a.is_v4()) v4.push_back(a.v4());
    if (a.is_v6()) v6.push_back(a.v6());
  }
  std::vector<std::optional<keel::core::RangeRecord>> out4(v4.size()),
      out6(v6.size());
  table.LookupBatch(v4, out4);
  table.LookupBatch(v6, out6);
  for (size_t i = 0; i < v4.size(); ++i) {
    auto m = table.Lookup(v4[i]);
    FUZZ_CHECK(m.has_value() == out4[i].has_value() &&
               (!m || m->record == *out4[i]))
        << v4[i].ToString();
  }
  for (size_t i = 0; i < v6.size(); ++i) {
    auto m = table.Lookup(v6[i]);
    FUZZ_CHECK(m.has_value() == out6[i].has_value() &&
               (!m || m->record == *out6[i]))
        << v6[i].ToString();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The repeated header layout must match the writer's.
  auto table = Build(kDefaultFeed);
  if (!table) std::abort();
  std::string image = ImageOf(*table);
  if (image.size() < kDataOffset ||
      Load32(image, kHeaderChecksumOffset) !=
          HeaderChecksum(image.substr(0, kDataOffset))) {
    std::fprintf(stderr,
                 "image_fuzzer: the image header layout changed; update the "
                 "offsets in tests/fuzz/image_fuzzer.cc\n");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = keel::fuzz::AsText(data, size);
  size_t nul = input.find('\0');
  std::string_view feed = input.substr(0, nul);
  std::string_view edits = nul == std::string_view::npos
                               ? std::string_view()
                               : input.substr(nul + 1);
  auto built = Build(feed);
  if (!built) built = Build(kDefaultFeed);
  std::string image = ImageOf(*built);
  std::vector<IpAddress> probes = Probes(*built);

  bool edited = false;
  bool keep_checksums = false;
  if (!edits.empty()) {
    uint8_t flags = static_cast<uint8_t>(edits[0]);
    edits.remove_prefix(1);
    keep_checksums = flags & 1;
    if ((flags & 2) && edits.size() >= 4) {
      uint32_t length;
      std::memcpy(&length, edits.data(), 4);
      edits.remove_prefix(4);
      image.resize(length % (image.size() + 1));
      edited = true;
    }
    while (edits.size() >= 6 && image.size() > kDataOffset) {
      uint8_t where = static_cast<uint8_t>(edits[0]);
      uint32_t offset;
      std::memcpy(&offset, edits.data() + 1, 4);
      size_t n = static_cast<uint8_t>(edits[5]);
      edits.remove_prefix(6);
      n = std::min(n, edits.size());
      size_t at = (where & 1)
                      ? kDataOffset + offset % (image.size() - kDataOffset)
                      : offset % kDataOffset;
      n = std::min(n, image.size() - at);
      std::memcpy(image.data() + at, edits.data(), n);
      edits.remove_prefix(n);
      edited = true;
    }
    if (edited && !keep_checksums) FixChecksums(image);
  }

  keel::fuzz::MemFile file(image);
  auto mapped = RangeTable::OpenImage(file.path(), ImageHolding::kMapped);
  auto copied = RangeTable::OpenImage(file.path(), ImageHolding::kCopied);
  FUZZ_CHECK(mapped.ok() == copied.ok())
      << mapped.status() << " vs " << copied.status();
  if (!edited) {
    FUZZ_CHECK(mapped.ok()) << mapped.status();
    for (const IpAddress& a : probes) {
      auto want = built->Lookup(a);
      for (const RangeTable* t : {&*mapped, &*copied}) {
        auto got = t->Lookup(a);
        FUZZ_CHECK(got.has_value() == want.has_value()) << a.ToString();
        if (got) {
          FUZZ_CHECK(got->record == want->record && got->first == want->first &&
                     got->last == want->last)
              << a.ToString();
        }
      }
    }
  }
  if (!mapped.ok()) return 0;
  std::vector<IpAddress> opened = Probes(*mapped);
  opened.insert(opened.end(), probes.begin(), probes.end());
  CheckConsistent(*mapped, opened);
  CheckConsistent(*copied, opened);
  return 0;
}
