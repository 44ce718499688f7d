#include "core/series/internal/series_index.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/types/span.h"
#include "alloc/growth_policy.h"
#include "core/series/postings.h"

namespace keel::core::core_internal {
namespace {

constexpr std::size_t kPageBytes = 16u << 10;
// Postings entries merged, intersected or copied per QueryContext unit.
constexpr std::size_t kEntriesPerUnit = 16;

std::size_t HashIds(std::span<const uint32_t> ids) {
  return absl::Hash<absl::Span<const uint32_t>>{}(
      absl::MakeConstSpan(ids.data(), ids.size()));
}

uint64_t PairKey(uint32_t name, uint32_t value) {
  return uint64_t{name} << 32 | value;
}

// The index's lists grow one size class at a time (about 1/8) instead of
// doubling; a list built at once gets the capacity that growth reaches.
template <typename T>
std::size_t ListCapacity(std::size_t elements) {
  static const alloc::GrowthPolicy kGrowth(/*first_capacity=*/16);
  return kGrowth.CapacityFor(elements * sizeof(T)) / sizeof(T);
}

template <typename Vector, typename T>
void GrowthPush(Vector& v, T value) {
  if (v.size() == v.capacity()) v.reserve(ListCapacity<T>(v.size() + 1));
  v.push_back(value);
}

}  // namespace

std::size_t SeriesIndex::RefHash::operator()(SeriesRef ref) const {
  return HashIds(index->LabelsOf(ref));
}
std::size_t SeriesIndex::RefHash::operator()(PairIds key) const {
  return HashIds(key.ids);
}
bool SeriesIndex::RefEq::operator()(SeriesRef a, PairIds b) const {
  auto ids = index->LabelsOf(a);
  return std::equal(ids.begin(), ids.end(), b.ids.begin(), b.ids.end());
}

SeriesIndex::SeriesIndex(alloc::Arena& arena)
    : arena_(arena),
      pages_(Alloc<std::pair<char*, std::size_t>>(arena)),
      symbols_(Alloc<absl::string_view>(arena)),
      symbol_refs_(Alloc<uint32_t>(arena)),
      free_symbols_(Alloc<uint32_t>(arena)),
      symbol_ids_(0, absl::Hash<absl::string_view>(),
                  std::equal_to<absl::string_view>(),
                  Alloc<std::pair<const absl::string_view, uint32_t>>(arena)),
      pairs_(Alloc<Pair>(arena)),
      free_pairs_(Alloc<uint32_t>(arena)),
      pair_ids_(0, absl::Hash<uint64_t>(), std::equal_to<uint64_t>(),
                Alloc<std::pair<const uint64_t, uint32_t>>(arena)),
      name_pairs_(0, absl::Hash<uint32_t>(), std::equal_to<uint32_t>(),
                  Alloc<std::pair<const uint32_t, Postings>>(arena)),
      labels_(Alloc<uint32_t*>(arena)),
      series_(0, RefHash{this}, RefEq{this}, Alloc<SeriesRef>(arena)) {}

SeriesIndex::~SeriesIndex() {
  for (auto [page, bytes] : pages_) arena_.Deallocate(page, bytes);
  for (uint32_t* p : labels_) {
    if (p != nullptr) arena_.Deallocate(p, (p[0] + 1) * sizeof(uint32_t));
  }
}

std::optional<uint32_t> SeriesIndex::FindSymbol(std::string_view s) const {
  auto it = symbol_ids_.find(View(s));
  if (it == symbol_ids_.end()) return std::nullopt;
  return it->second;
}

std::string_view SeriesIndex::CopyString(std::string_view s) {
  char* p;
  if (s.size() > kPageBytes / 4) {
    p = static_cast<char*>(arena_.Allocate(s.size()));
    pages_.push_back({p, s.size()});
  } else {
    if (pages_.empty() || pages_.back().second != kPageBytes ||
        kPageBytes - page_used_ < s.size()) {
      pages_.push_back(
          {static_cast<char*>(arena_.Allocate(kPageBytes)), kPageBytes});
      page_used_ = 0;
    }
    p = pages_.back().first + page_used_;
    page_used_ += s.size();
  }
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

template <typename Stored>
uint32_t SeriesIndex::Intern(std::string_view s, Stored stored) {
  auto id = static_cast<uint32_t>(symbols_.size());
  // One probe finds the string or its slot; only a new one is stored.
  auto it = symbol_ids_.lazy_emplace(View(s), [&](const auto& construct) {
    if (free_symbols_.empty()) {
      symbols_.push_back(View(stored(nullptr)));
      symbol_refs_.push_back(0);
    } else {
      id = free_symbols_.back();
      free_symbols_.pop_back();
      symbols_[id] = View(stored(&symbols_[id]));
    }
    construct(symbols_[id], id);
  });
  return it->second;
}

uint32_t SeriesIndex::InternSymbol(std::string_view s) {
  // A freed string's bytes take the new one when it fits: a new
  // generation's label values are mostly as long as the dead one's.
  return Intern(s, [&](const absl::string_view* freed) {
    if (freed == nullptr || freed->size() < s.size()) return CopyString(s);
    char* p = const_cast<char*>(freed->data());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return std::string_view(p, s.size());
  });
}

uint32_t SeriesIndex::InternCopied(std::string_view copied) {
  return Intern(copied, [copied](const absl::string_view*) { return copied; });
}

std::optional<uint32_t> SeriesIndex::FindPair(uint32_t name,
                                              uint32_t value) const {
  auto it = pair_ids_.find(PairKey(name, value));
  if (it == pair_ids_.end()) return std::nullopt;
  return it->second;
}

bool SeriesIndex::FindPairs(const Labels& labels,
                            std::vector<uint32_t>& pairs) const {
  pairs.clear();
  for (const Label& l : labels) {
    auto name = FindSymbol(l.name);
    auto value = name ? FindSymbol(l.value) : std::nullopt;
    auto pair = value ? FindPair(*name, *value) : std::nullopt;
    if (!pair) return false;
    pairs.push_back(*pair);
  }
  return true;
}

uint32_t SeriesIndex::InternPair(uint32_t name, uint32_t value) {
  uint32_t id = free_pairs_.empty() ? static_cast<uint32_t>(pairs_.size())
                                    : free_pairs_.back();
  auto [it, added] = pair_ids_.emplace(PairKey(name, value), id);
  if (!added) return it->second;
  if (free_pairs_.empty()) return AddPairUnindexed(name, value);
  free_pairs_.pop_back();
  SetPair(id, name, value);
  return id;
}

uint32_t SeriesIndex::AddPairUnindexed(uint32_t name, uint32_t value) {
  auto id = static_cast<uint32_t>(pairs_.size());
  pairs_.push_back(Pair{name, value, Postings(Alloc<uint32_t>(arena_))});
  SetPair(id, name, value);
  return id;
}

void SeriesIndex::SetPair(uint32_t id, uint32_t name, uint32_t value) {
  Pair& pair = pairs_[id];
  pair.name = name;
  pair.value = value;
  ++symbol_refs_[name];
  ++symbol_refs_[value];
  name_pairs_.try_emplace(name, Alloc<uint32_t>(arena_))
      .first->second.push_back(id);
}

void SeriesIndex::FreePairs(std::span<const uint32_t> ids) {
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> by_name;
  for (uint32_t id : ids) {
    const Pair& pair = pairs_[id];
    pair_ids_.erase(PairKey(pair.name, pair.value));
    by_name[pair.name].push_back(id);
    free_pairs_.push_back(id);
  }
  for (auto& [name, gone] : by_name) {
    std::sort(gone.begin(), gone.end());
    auto it = name_pairs_.find(name);
    Postings& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&gone](uint32_t id) {
                                return std::binary_search(gone.begin(),
                                                          gone.end(), id);
                              }),
               list.end());
    // A freed name id may come back as another string.
    if (list.empty()) name_pairs_.erase(it);
  }
  auto release = [this](uint32_t symbol) {
    if (--symbol_refs_[symbol] != 0) return;
    symbol_ids_.erase(symbols_[symbol]);
    free_symbols_.push_back(symbol);
  };
  for (uint32_t id : ids) {
    release(pairs_[id].name);
    release(pairs_[id].value);
  }
}

void SeriesIndex::IndexPairs(uint32_t first) {
  // Prefetching a few pairs ahead overlaps the table's cache misses, which
  // one insert after another would wait out in turn.
  constexpr std::size_t kAhead = 16;
  pair_ids_.reserve(pairs_.size());
  for (std::size_t i = first; i < pairs_.size(); ++i) {
    if (i + kAhead < pairs_.size()) {
      const Pair& ahead = pairs_[i + kAhead];
      pair_ids_.prefetch(PairKey(ahead.name, ahead.value));
    }
    pair_ids_.emplace(PairKey(pairs_[i].name, pairs_[i].value),
                      static_cast<uint32_t>(i));
  }
}

void SeriesIndex::InternPairs(const Labels& labels,
                              std::vector<uint32_t>& pairs) {
  pairs.clear();
  for (const Label& l : labels) {
    pairs.push_back(InternPair(InternSymbol(l.name), InternSymbol(l.value)));
  }
}

void SeriesIndex::Reserve(std::size_t symbols, std::size_t series) {
  symbols_.reserve(symbols_.size() + symbols);
  symbol_refs_.reserve(symbol_refs_.size() + symbols);
  symbol_ids_.reserve(symbol_ids_.size() + symbols);
  // Every value string is in at least one pair, so pairs are at least the
  // strings less the (few) names: reserving one per string is about right.
  pairs_.reserve(pairs_.size() + symbols);
  std::size_t refs = labels_.size() + series;
  labels_.reserve(ListCapacity<uint32_t*>(refs));
  series_.reserve(series_.size() + series);
}

std::optional<SeriesRef> SeriesIndex::FindSeries(
    std::span<const uint32_t> pairs) const {
  auto it = series_.find(PairIds{pairs});
  if (it == series_.end()) return std::nullopt;
  return *it;
}

void SeriesIndex::StoreLabels([[maybe_unused]] SeriesRef ref,
                              std::span<const uint32_t> pairs) {
  assert(ref == labels_.size());
  auto* p = static_cast<uint32_t*>(
      arena_.Allocate((pairs.size() + 1) * sizeof(uint32_t)));
  p[0] = static_cast<uint32_t>(pairs.size());
  std::copy(pairs.begin(), pairs.end(), p + 1);
  GrowthPush(labels_, p);
}

void SeriesIndex::AddSeries(SeriesRef ref, std::span<const uint32_t> pairs) {
  StoreLabels(ref, pairs);
  for (uint32_t pair : pairs) GrowthPush(pairs_[pair].postings, ref);
  series_.insert(ref);
}

bool SeriesIndex::AddSeriesWithoutPostings(SeriesRef ref,
                                           std::span<const uint32_t> pairs) {
  // One probe finds a series with these pairs or the slot for this one.
  bool added = false;
  series_.lazy_emplace(PairIds{pairs}, [&](const auto& construct) {
    StoreLabels(ref, pairs);
    construct(ref);
    added = true;
  });
  return added;
}

void SeriesIndex::AddPostings(SeriesRef first) {
  // Count, grow each list once, then append: refs come in order, so every
  // list stays sorted.
  std::vector<uint32_t> count(pairs_.size(), 0);
  for (SeriesRef ref = first; ref < labels_.size(); ++ref) {
    for (uint32_t pair : LabelsOf(ref)) ++count[pair];
  }
  for (std::size_t pair = 0; pair < pairs_.size(); ++pair) {
    if (count[pair] == 0) continue;
    Postings& postings = pairs_[pair].postings;
    postings.reserve(ListCapacity<uint32_t>(postings.size() + count[pair]));
  }
  for (SeriesRef ref = first; ref < labels_.size(); ++ref) {
    for (uint32_t pair : LabelsOf(ref)) pairs_[pair].postings.push_back(ref);
  }
}

void SeriesIndex::RemoveSeries(std::span<const SeriesRef> refs) {
  if (refs.empty()) return;
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> dead_by_pair;
  for (SeriesRef ref : refs) {
    series_.erase(ref);
    for (uint32_t p : LabelsOf(ref)) dead_by_pair[p].push_back(ref);
    uint32_t*& labels = labels_[ref];
    arena_.Deallocate(labels, (labels[0] + 1) * sizeof(uint32_t));
    labels = nullptr;
  }
  auto remove = [](Postings& postings, std::span<const uint32_t> dead) {
    auto kept = SubtractPostings(postings, dead);
    if (kept.empty()) {
      Postings(postings.get_allocator()).swap(postings);  // free it
    } else {
      postings.assign(kept.begin(), kept.end());
      postings.shrink_to_fit();
    }
  };
  std::vector<uint32_t> emptied;
  for (auto& [pair, dead] : dead_by_pair) {
    remove(pairs_[pair].postings, dead);
    if (pairs_[pair].postings.empty()) emptied.push_back(pair);
  }
  FreePairs(emptied);
}

std::vector<uint32_t> SeriesIndex::MatchOne(const Matcher& m,
                                            QueryContext& context) const {
  auto name = FindSymbol(m.name());
  if (!name) return {};
  if (m.type() == MatchType::kEqual && !m.MatchesEmpty()) {
    auto value = FindSymbol(m.value());
    auto pair = value ? FindPair(*name, *value) : std::nullopt;
    if (!pair) return {};
    const Postings& p = pairs_[*pair].postings;
    if (!context.Work(p.size() / kEntriesPerUnit)) return {};
    return {p.begin(), p.end()};
  }
  auto it = name_pairs_.find(*name);
  if (it == name_pairs_.end()) return {};
  // A matcher matching "" selects by exclusion: the refs whose value it
  // rejects are returned, for the caller to subtract. Each distinct value
  // is matched once, whatever the number of series holding it.
  bool want = !m.MatchesEmpty();
  std::vector<std::span<const uint32_t>> lists;
  std::size_t total = 0;
  for (uint32_t pair : it->second) {
    const Pair& p = pairs_[pair];
    if (p.postings.empty()) continue;
    std::string_view value(symbols_[p.value].data(), symbols_[p.value].size());
    if (!context.Work(m.MatchCost(value.size()))) return {};
    if (m.Matches(value) == want) {
      lists.emplace_back(p.postings);
      total += p.postings.size();
    }
  }
  if (!context.Work(total / kEntriesPerUnit)) return {};
  return MergePostings(lists);
}

std::vector<uint32_t> SeriesIndex::Select(std::span<const Matcher> matchers,
                                          QueryContext& context) const {
  std::vector<std::vector<uint32_t>> include;
  std::vector<std::vector<uint32_t>> exclude;
  for (const Matcher& m : matchers) {
    (m.MatchesEmpty() ? exclude : include).push_back(MatchOne(m, context));
    if (!context.ok()) return {};
  }
  std::vector<uint32_t> result;
  if (include.empty()) {
    if (!context.Work(labels_.size() / kEntriesPerUnit)) return {};
    for (SeriesRef ref = 0; ref < labels_.size(); ++ref) {
      if (labels_[ref] != nullptr) result.push_back(ref);
    }
  } else {
    std::sort(include.begin(), include.end(),
              [](const auto& a, const auto& b) { return a.size() < b.size(); });
    result = std::move(include[0]);
    for (std::size_t i = 1; i < include.size() && !result.empty(); ++i) {
      if (!context.Work((result.size() + include[i].size()) /
                        kEntriesPerUnit)) {
        return {};
      }
      result = IntersectPostings(result, include[i]);
    }
  }
  for (const auto& e : exclude) {
    if (result.empty()) break;
    if (!context.Work((result.size() + e.size()) / kEntriesPerUnit)) return {};
    result = SubtractPostings(result, e);
  }
  return result;
}

void SeriesIndex::AppendLabels(std::span<const uint32_t> pairs,
                               Labels& out) const {
  for (uint32_t id : pairs) {
    const Pair& p = pairs_[id];
    const absl::string_view& n = symbols_[p.name];
    const absl::string_view& v = symbols_[p.value];
    out.push_back(
        {std::string(n.data(), n.size()), std::string(v.data(), v.size())});
  }
}

SeriesIndex::Usage SeriesIndex::LiveUsage() const {
  // Entries of a table: the slot and its control byte.
  constexpr uint64_t kSymbolEntry =
      sizeof(absl::string_view) + sizeof(uint32_t) +
      sizeof(std::pair<absl::string_view, uint32_t>) + 1;
  constexpr uint64_t kPairEntry = sizeof(Pair) +
                                  sizeof(std::pair<uint64_t, uint32_t>) + 1 +
                                  sizeof(uint32_t);
  constexpr uint64_t kSeriesEntry = sizeof(uint32_t*) + sizeof(SeriesRef) + 1;
  Usage u;
  std::vector<bool> used(symbols_.size(), false);
  for (const Pair& p : pairs_) {
    if (p.postings.empty()) continue;
    used[p.name] = used[p.value] = true;
    u.index_bytes += kPairEntry + p.postings.capacity() * sizeof(uint32_t);
  }
  for (std::size_t id = 0; id < symbols_.size(); ++id) {
    if (used[id]) u.label_bytes += symbols_[id].size() + kSymbolEntry;
  }
  for (const uint32_t* labels : labels_) {
    if (labels != nullptr) {
      u.index_bytes += (labels[0] + 1) * sizeof(uint32_t) + kSeriesEntry;
    }
  }
  return u;
}

std::optional<uint64_t> SeriesIndex::DefragSome(int phase, uint64_t position,
                                                std::size_t batch,
                                                alloc::Defragmenter& defrag) {
  const uint64_t end =
      phase == 0 ? labels_.size() : static_cast<uint64_t>(pairs_.size());
  const uint64_t stop = std::min<uint64_t>(end, position + batch);
  for (; position < stop; ++position) {
    if (phase == 0) {
      uint32_t*& labels = labels_[position];
      if (labels == nullptr) continue;
      if (void* p =
              defrag.MaybeMove(labels, (labels[0] + 1) * sizeof(uint32_t))) {
        labels = static_cast<uint32_t*>(p);
      }
      continue;
    }
    Postings& postings = pairs_[position].postings;
    if (postings.capacity() == 0 || !defrag.ShouldMove(postings.data())) {
      continue;
    }
    // A vector cannot adopt a buffer: copy it into one of the same capacity,
    // which the arena takes from its fullest slab, and swap.
    Postings moved(postings.get_allocator());
    moved.reserve(postings.capacity());
    moved.assign(postings.begin(), postings.end());
    postings.swap(moved);
    defrag.CountMoved(postings.capacity() * sizeof(uint32_t));
  }
  if (position >= end) return std::nullopt;
  return position;
}

}  // namespace keel::core::core_internal
