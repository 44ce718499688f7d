#include "alloc/arena.h"

#include <jemalloc/jemalloc.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/internal/arena_registry.h"
#include "alloc/internal/huge_page_hooks.h"
#include "alloc/internal/mallctl.h"
#include "alloc/size_classes.h"

namespace keel::alloc {
namespace {

int Flags(unsigned index) { return MALLOCX_ARENA(index) | MALLOCX_TCACHE_NONE; }

// A large extent carries a page more than its class (SizeClasses::
// Footprint) so that an allocation can start at a random cache line of its
// first page; its last bytes then lie in that extra page, which becomes
// resident as soon as the allocation is filled to its end. Page-aligned, an
// allocation starts at its extent's start and the extra page is never
// touched: a 1 MiB chunk block costs 256 resident pages, not 257.
int Flags(unsigned index, std::size_t bytes) {
  return SizeClasses::Get().IsSmall(bytes)
             ? Flags(index)
             : Flags(index) | MALLOCX_ALIGN(SizeClasses::kLargePad);
}

[[noreturn]] [[gnu::noinline]] void ThrowBadAlloc() { throw std::bad_alloc(); }

// jemalloc keeps part of every arena it destroys (its metadata), so a
// process that builds and drops arenas for months (table reloads, restores,
// tests) would grow a little each time. Arenas are instead reset, purged and
// kept here, one list per kind of extent hooks, for the next Arena of that
// kind.
class RetiredArenas {
 public:
  static RetiredArenas& Get() {
    static auto* retired = new RetiredArenas;  // arenas outlive statics
    return *retired;
  }
  // An index to reuse, or false.
  bool Take(bool huge_pages, unsigned* index) {
    std::lock_guard lock(mu_);
    std::vector<unsigned>& list = huge_pages ? huge_ : plain_;
    if (list.empty()) return false;
    *index = list.back();
    list.pop_back();
    return true;
  }
  void Give(bool huge_pages, unsigned index) {
    std::lock_guard lock(mu_);
    (huge_pages ? huge_ : plain_).push_back(index);
  }

 private:
  std::mutex mu_;
  std::vector<unsigned> plain_;
  std::vector<unsigned> huge_;
};

#ifndef NDEBUG
[[noreturn]] [[gnu::noinline]] void DestroyedWhileLive(const std::string& name,
                                                       size_t allocated) {
  std::fprintf(stderr,
               "keel: arena \"%s\" destroyed with %zu bytes still allocated\n",
               name.c_str(), allocated);
  std::abort();
}

size_t LiveBytes(unsigned index) {
  alloc_internal::RefreshEpoch();
  std::string prefix = absl::StrCat("stats.arenas.", index, ".");
  return alloc_internal::ReadMallctl<size_t>(prefix + "small.allocated") +
         alloc_internal::ReadMallctl<size_t>(prefix + "large.allocated");
}
#endif

}  // namespace

Arena::Arena(std::string name, ArenaOptions options)
    : record_(std::make_unique<alloc_internal::ArenaRecord>()) {
  unsigned index = 0;
  if (!RetiredArenas::Get().Take(options.huge_pages, &index)) {
    size_t size = sizeof(index);
    extent_hooks_t* hooks =
        options.huge_pages ? alloc_internal::HugePageExtentHooks() : nullptr;
    int error = mallctl("arenas.create", &index, &size,
                        hooks != nullptr ? &hooks : nullptr,
                        hooks != nullptr ? sizeof(hooks) : 0);
    if (error != 0) alloc_internal::MallctlFailed("arenas.create", error);
  }
  // A retired arena's last owner may have switched its advice off.
  if (options.huge_pages) alloc_internal::SetHugePageAdvice(index, true);
  record_->index = index;
  record_->huge_pages = options.huge_pages;
  record_->name = std::move(name);
  alloc_internal::RegisterArena(record_.get());
}

Arena::~Arena() {
  if (record_ == nullptr) return;  // moved from
  unsigned index = record_->index;
#ifndef NDEBUG
  if (size_t live = LiveBytes(index); live != 0) {
    DestroyedWhileLive(record_->name, live);
  }
#endif
  alloc_internal::UnregisterArena(record_.get());
  // Frees whatever is left and hands every page back to the kernel.
  alloc_internal::WriteMallctl(absl::StrCat("arena.", index, ".reset"));
  alloc_internal::WriteMallctl(absl::StrCat("arena.", index, ".purge"));
  RetiredArenas::Get().Give(record_->huge_pages, index);
}

Arena::Arena(Arena&& other) noexcept = default;

Arena& Arena::operator=(Arena&& other) noexcept {
  if (this != &other) {
    Arena doomed(std::move(*this));
    record_ = std::move(other.record_);
  }
  return *this;
}

void* Arena::Allocate(std::size_t bytes) {
  assert(bytes > 0);
  void* p = mallocx(bytes, Flags(record_->index, bytes));
  if (p == nullptr) ThrowBadAlloc();
  return p;
}

void Arena::Deallocate(void* p, std::size_t bytes) noexcept {
  sdallocx(p, bytes, Flags(record_->index, bytes));
}

void* Arena::Reallocate(void* p, std::size_t new_bytes) {
  assert(new_bytes > 0);
  void* q = rallocx(p, new_bytes, Flags(record_->index, new_bytes));
  if (q == nullptr) ThrowBadAlloc();
  return q;
}

std::size_t Arena::ShrinkInPlace(void* p, std::size_t old_bytes,
                                 std::size_t new_bytes) {
  assert(new_bytes > 0 && new_bytes <= old_bytes);
  const SizeClasses& classes = SizeClasses::Get();
  if (classes.IsSmall(old_bytes)) return old_bytes;
  // A large extent stays large in place: the smallest large class at least.
  new_bytes = std::max(new_bytes, classes.Next(classes.small().back().size));
  if (classes.RoundUp(new_bytes) == classes.RoundUp(old_bytes)) {
    return old_bytes;
  }
  return xallocx(p, new_bytes, 0, Flags(record_->index, new_bytes));
}

void Arena::AdviseHugePages(bool on) {
  if (record_->huge_pages) {
    alloc_internal::SetHugePageAdvice(record_->index, on);
  }
}

unsigned Arena::index() const { return record_->index; }
const std::string& Arena::name() const { return record_->name; }

}  // namespace keel::alloc
