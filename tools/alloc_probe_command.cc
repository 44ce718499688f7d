// keel alloc probe: allocates N objects of one size in a fresh arena, frees
// them as told, purges, and prints the arena's figures at each step.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

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

struct ProbeFlags {
  uint64_t size = 100;
  uint64_t count = 1000000;
  std::string free_mode = "all";
  bool json = false;  // the output is JSON either way
};

int RunAllocProbe(const ProbeFlags& flags) {
  const uint64_t size = flags.size;
  const std::string& free_mode = flags.free_mode;
  const auto& classes = alloc::SizeClasses::Get();
  size_t stride = free_mode == "all" ? 1 : 2;

  alloc::Arena arena("probe");
  std::vector<void*> objects(flags.count);  // outside the arena: not measured
  auto before = alloc::CaptureArenaStats(arena);
  for (auto& p : objects) p = arena.Allocate(size);
  auto after_alloc = alloc::CaptureArenaStats(arena);
  for (size_t i = 0; i < objects.size(); i += stride) {
    arena.Deallocate(objects[i], size);
    objects[i] = nullptr;
  }
  auto after_free = alloc::CaptureArenaStats(arena);
  uint64_t purged = alloc::Purge(arena);
  auto after_purge = alloc::CaptureArenaStats(arena);

  std::string utilization = "null";
  if (classes.IsSmall(size)) {
    const auto& usage = after_free.size_classes[classes.IndexOf(size)];
    if (usage.slabs > 0) utilization = JsonNumber(usage.utilization());
  }
  JsonObject out;
  out.Add("size", size)
      .Add("size_class", static_cast<uint64_t>(classes.RoundUp(size)))
      .Add("count", flags.count)
      .Add("free", free_mode)
      .AddRaw("before", StatsJson(before.memory))
      .AddRaw("after_alloc", StatsJson(after_alloc.memory))
      .AddRaw("after_free", StatsJson(after_free.memory))
      .AddRaw("after_purge", StatsJson(after_purge.memory))
      .AddRaw("class_utilization_after_free", utilization)
      .Add("purged_bytes", purged);
  std::printf("%s\n", out.str().c_str());

  for (void* p : objects) {
    if (p != nullptr) arena.Deallocate(p, size);
  }
  return 0;
}

CommandRun SetUpAllocProbe(CLI::App& app) {
  auto flags = std::make_shared<ProbeFlags>();
  app.add_option("--size", flags->size, "bytes per object")
      ->check(CLI::Range(uint64_t{1},
                         uint64_t{alloc::SizeClasses::Get().largest()}));
  app.add_option("--count", flags->count, "objects to allocate")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 32));
  app.add_option("--free", flags->free_mode,
                 "which objects to free before the purge")
      ->check(CLI::IsMember({"all", "every-other"}));
  app.add_flag("--json", flags->json,
               "JSON output (the only format; accepted for scripts)");
  app.footer("Prints one JSON object: the arena's figures at each step.");
  return [flags] { return RunAllocProbe(*flags); };
}

}  // namespace

KEEL_COMMAND("alloc probe",
             "allocate, free and purge in a fresh arena; print its figures",
             SetUpAllocProbe);

}  // namespace keel::tools
