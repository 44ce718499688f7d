#include "alloc/memory_budget.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "alloc/purge.h"
#include "alloc/stats.h"

namespace keel::alloc {
namespace {

uint64_t FractionOf(uint64_t bytes, double fraction) {
  return static_cast<uint64_t>(
      std::floor(static_cast<double>(bytes) * fraction));
}

}  // namespace

absl::Status MemoryBudget::CheckOptions(const MemoryBudgetOptions& o) {
  if (o.limit_bytes == 0) {
    return absl::InvalidArgumentError("memory budget: limit_bytes must be > 0");
  }
  if (!(o.soft_fraction > 0 && o.soft_fraction <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory budget: soft_fraction ", o.soft_fraction, " not in (0, 1]"));
  }
  if (!(o.release_fraction > 0 && o.release_fraction <= o.soft_fraction)) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory budget: release_fraction ", o.release_fraction,
                     " not in (0, soft_fraction ", o.soft_fraction, "]"));
  }
  if (o.max_staleness.count() < 0 || o.tick.count() <= 0) {
    return absl::InvalidArgumentError(
        "memory budget: max_staleness must be >= 0 and tick > 0");
  }
  return absl::OkStatus();
}

MemoryBudget::MemoryBudget(MemoryBudgetOptions options)
    : options_(std::move(options)),
      soft_bytes_(FractionOf(options_.limit_bytes, options_.soft_fraction)),
      release_bytes_(
          FractionOf(options_.limit_bytes, options_.release_fraction)) {
  resident_.store(ReadResident(), std::memory_order_relaxed);
  next_read_.store(
      (Clock::now() + options_.max_staleness).time_since_epoch().count(),
      std::memory_order_relaxed);
}

MemoryBudget::~MemoryBudget() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemoryBudget::Start() {
  thread_ = std::thread([this] { Run(); });
}

void MemoryBudget::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Tick();
    lock.lock();
    wake_.wait_for(lock, options_.tick, [this] { return stopping_; });
  }
}

uint64_t MemoryBudget::ReadResident() const {
  return options_.read_resident ? options_.read_resident() : ProcessRssBytes();
}

uint64_t MemoryBudget::FreshResident() {
  const int64_t now = Clock::now().time_since_epoch().count();
  if (now < next_read_.load(std::memory_order_relaxed)) {
    return resident_.load(std::memory_order_relaxed);
  }
  // One reader at a time; the others go on with the cached reading, at
  // most one read's duration staler.
  if (reading_.exchange(true, std::memory_order_acquire)) {
    return resident_.load(std::memory_order_relaxed);
  }
  const uint64_t resident = ReadResident();
  resident_.store(resident, std::memory_order_relaxed);
  next_read_.store(
      (Clock::now() + options_.max_staleness).time_since_epoch().count(),
      std::memory_order_relaxed);
  reading_.store(false, std::memory_order_release);
  return resident;
}

MemoryPressure MemoryBudget::StateOf(uint64_t resident) const {
  if (resident >= options_.limit_bytes) return MemoryPressure::kHard;
  if (resident >= soft_bytes_) return MemoryPressure::kSoft;
  return MemoryPressure::kNone;
}

uint64_t MemoryBudget::Headroom() {
  const uint64_t resident = FreshResident();
  return resident >= options_.limit_bytes ? 0 : options_.limit_bytes - resident;
}

MemoryPressure MemoryBudget::State() { return StateOf(FreshResident()); }

MemoryPressure MemoryBudget::Tick() {
  uint64_t resident = ReadResident();
  if (resident >= soft_bytes_ && options_.purge_above_soft_mark) {
    // Freed pages that jemalloc's decay would return only later count
    // against the limit now: hand them back before anyone is refused.
    purged_bytes_.fetch_add(PurgeAll(), std::memory_order_relaxed);
    purges_.fetch_add(1, std::memory_order_relaxed);
    resident = ReadResident();
  }
  resident_.store(resident, std::memory_order_relaxed);
  next_read_.store(
      (Clock::now() + options_.max_staleness).time_since_epoch().count(),
      std::memory_order_relaxed);
  const bool was_high = under_pressure_.load(std::memory_order_relaxed);
  const bool high =
      was_high ? resident >= release_bytes_ : resident >= soft_bytes_;
  if (high != was_high) {
    under_pressure_.store(high, std::memory_order_relaxed);
    if (options_.on_pressure) options_.on_pressure(high);
  }
  return StateOf(resident);
}

}  // namespace keel::alloc
