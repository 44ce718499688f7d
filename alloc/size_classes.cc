#include "alloc/size_classes.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/str_cat.h"
#include "alloc/internal/mallctl.h"

namespace keel::alloc {

using alloc_internal::ReadMallctl;

const SizeClasses& SizeClasses::Get() {
  static const SizeClasses* classes = new SizeClasses;
  return *classes;
}

SizeClasses::SizeClasses() {
  unsigned nbins = ReadMallctl<unsigned>("arenas.nbins");
  for (unsigned j = 0; j < nbins; ++j) {
    std::string prefix = absl::StrCat("arenas.bin.", j, ".");
    SmallClass bin{ReadMallctl<size_t>(prefix + "size"),
                   ReadMallctl<uint32_t>(prefix + "nregs"),
                   ReadMallctl<size_t>(prefix + "slab_size")};
    small_.push_back(bin);
    sizes_.push_back(bin.size);
  }
  unsigned nlextents = ReadMallctl<unsigned>("arenas.nlextents");
  for (unsigned j = 0; j < nlextents; ++j) {
    sizes_.push_back(
        ReadMallctl<size_t>(absl::StrCat("arenas.lextent.", j, ".size")));
  }
}

std::size_t SizeClasses::IndexOf(std::size_t n) const {
  assert(n > 0 && n <= largest());
  return std::lower_bound(sizes_.begin(), sizes_.end(), n) - sizes_.begin();
}

}  // namespace keel::alloc
