// keel alloc probe: allocates N objects of one size in a fresh arena, frees
// them as told, purges, and prints the arena's figures at each step.
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/arena.h"
#include "alloc/purge.h"
#include "alloc/size_classes.h"
#include "alloc/stats.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

std::string StatsJson(const alloc::MemoryStats& m) {
  return JsonObject()
      .Add("allocated", m.allocated)
      .Add("active", m.active)
      .Add("resident", m.resident)
      .Add("mapped", m.mapped)
      .Add("retained", m.retained)
      .Add("metadata", m.metadata)
      .Add("dirty", m.dirty)
      .Add("muzzy", m.muzzy)
      .str();
}

int RunAllocProbe(Args& args) {
  constexpr char kName[] = "alloc probe";
  if (auto s = args.Check({"size", "count", "free"}, {"json"}); !s.ok()) {
    return Fail(kName, s, 2);
  }
  auto size = args.GetUint("size", 100);
  auto count = args.GetUint("count", 1000000);
  std::string free_mode = args.Get("free", "all");
  if (!size.ok()) return Fail(kName, size.status(), 2);
  if (!count.ok()) return Fail(kName, count.status(), 2);
  const auto& classes = alloc::SizeClasses::Get();
  if (*size == 0 || *size > classes.largest()) {
    return Fail(kName,
                absl::InvalidArgumentError(
                    absl::StrCat("--size must be 1..", classes.largest())),
                2);
  }
  if (free_mode != "all" && free_mode != "every-other") {
    return Fail(kName,
                absl::InvalidArgumentError("--free must be all or every-other"),
                2);
  }
  size_t stride = free_mode == "all" ? 1 : 2;

  alloc::Arena arena("probe");
  std::vector<void*> objects(*count);  // outside the arena: not measured
  auto before = alloc::CaptureArenaStats(arena);
  for (auto& p : objects) p = arena.Allocate(*size);
  auto after_alloc = alloc::CaptureArenaStats(arena);
  for (size_t i = 0; i < objects.size(); i += stride) {
    arena.Deallocate(objects[i], *size);
    objects[i] = nullptr;
  }
  auto after_free = alloc::CaptureArenaStats(arena);
  uint64_t purged = alloc::Purge(arena);
  auto after_purge = alloc::CaptureArenaStats(arena);

  std::string utilization = "null";
  if (classes.IsSmall(*size)) {
    const auto& usage = after_free.size_classes[classes.IndexOf(*size)];
    if (usage.slabs > 0) utilization = JsonNumber(usage.utilization());
  }
  JsonObject out;
  out.Add("size", *size)
      .Add("size_class", static_cast<uint64_t>(classes.RoundUp(*size)))
      .Add("count", *count)
      .Add("free", free_mode)
      .AddRaw("before", StatsJson(before.memory))
      .AddRaw("after_alloc", StatsJson(after_alloc.memory))
      .AddRaw("after_free", StatsJson(after_free.memory))
      .AddRaw("after_purge", StatsJson(after_purge.memory))
      .AddRaw("class_utilization_after_free", utilization)
      .Add("purged_bytes", purged);
  std::printf("%s\n", out.str().c_str());

  for (void* p : objects) {
    if (p != nullptr) arena.Deallocate(p, *size);
  }
  return 0;
}

}  // namespace

KEEL_COMMAND("alloc probe",
             "allocate, free and purge in a fresh arena; print its figures",
             RunAllocProbe);

}  // namespace keel::tools
