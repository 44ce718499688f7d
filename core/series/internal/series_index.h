// SeriesIndex: interned label strings, label pairs with their postings, and
// the label-set -> ref lookup.
//
// Every distinct string is stored once (in arena pages); a pair (name id,
// value id) gets a pair id, and a series' labels are the sorted array of its
// pair ids (4 bytes a label). Postings are per pair, sorted uint32 refs in
// arena vectors; refs only grow, so appending keeps them sorted. The
// label-set lookup is a hash set of refs hashed by their pair ids. Vectors
// grow by about 1/8 (size classes), not 2x, to keep slack small.
// Everything lives in the store's arena.
//
// Under series turnover every generation brings new label values (a new
// pod's instance) and takes them along when it dies: RemoveSeries frees
// the pairs whose postings it empties and the strings no pair uses any more
// (a string counts the pairs naming it), and the next new pairs and strings
// take their ids, table entries and, where the new string fits, its bytes.
//
// Thread safety: none; the store guards it with its index lock.
#ifndef KEEL_CORE_SERIES_INTERNAL_SERIES_INDEX_H_
#define KEEL_CORE_SERIES_INTERNAL_SERIES_INDEX_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "alloc/arena.h"
#include "alloc/arena_allocator.h"
#include "alloc/defrag.h"
#include "core/series/labels.h"
#include "core/series/matcher.h"
#include "core/series/query_context.h"
#include "core/series/series_store.h"

namespace keel::core::core_internal {

class SeriesIndex {
 public:
  explicit SeriesIndex(alloc::Arena& arena);
  ~SeriesIndex();
  SeriesIndex(const SeriesIndex&) = delete;
  SeriesIndex& operator=(const SeriesIndex&) = delete;

  // The pair ids of normalized `labels`; false if some pair is unknown
  // (then no series has these labels).
  bool FindPairs(const Labels& labels, std::vector<uint32_t>& pairs) const;
  // The pair ids of normalized `labels`, interning what is new.
  void InternPairs(const Labels& labels, std::vector<uint32_t>& pairs);

  // Sizes the tables for `symbols` more strings and `series` more series,
  // so a bulk restore does not rehash or move them as it goes.
  void Reserve(std::size_t symbols, std::size_t series);
  // The id of string `s`, interned if new.
  uint32_t InternSymbol(std::string_view s);
  // InternSymbol in two steps, so that a bulk restore can prefetch the
  // table slot between them: the string copied into the index's pages (a
  // copy that goes unused if the string turns out to be known), then
  // interned from there.
  std::string_view CopyString(std::string_view s);
  void PrefetchSymbol(std::string_view s) const {
    symbol_ids_.prefetch(View(s));
  }
  uint32_t InternCopied(std::string_view copied);
  std::string_view Symbol(uint32_t id) const {
    return {symbols_[id].data(), symbols_[id].size()};
  }
  std::size_t symbol_count() const { return symbols_.size(); }
  std::optional<uint32_t> FindSymbol(std::string_view s) const;
  // The id of the pair (name id, value id), interned if new.
  uint32_t InternPair(uint32_t name, uint32_t value);
  // A new pair that lookups do not find until IndexPairs; for a bulk
  // restore, which knows which pairs are new, and indexes them all at once.
  // Takes no freed id, so that every pair from IndexPairs' `first` on is
  // one of these. REQUIRES: no pair (name, value) yet.
  uint32_t AddPairUnindexed(uint32_t name, uint32_t value);
  // Makes the pairs from `first` on found by lookups.
  void IndexPairs(uint32_t first);
  // Pair ids handed out, freed ones included.
  std::size_t pair_count() const { return pairs_.size(); }
  // Pairs and strings freed and not yet reused.
  std::size_t free_pair_count() const { return free_pairs_.size(); }
  std::size_t free_symbol_count() const { return free_symbols_.size(); }

  std::optional<SeriesRef> FindSeries(std::span<const uint32_t> pairs) const;
  // REQUIRES: ref is the next ref: one above the last one added; no series
  // has these pairs.
  void AddSeries(SeriesRef ref, std::span<const uint32_t> pairs);
  // AddSeries without the postings, for a bulk restore, which adds them for
  // all its series at once (AddPostings). Returns false, adding nothing, if
  // a series has these pairs already. REQUIRES: ref is the next ref.
  bool AddSeriesWithoutPostings(SeriesRef ref, std::span<const uint32_t> pairs);
  // Appends every series from `first` on to its pairs' postings, each list
  // grown once to the size class that holds it. REQUIRES: those series were
  // added without postings.
  void AddPostings(SeriesRef first);
  // Unindexes series and frees their labels, the pairs no series holds any
  // more and the strings only those pairs used. REQUIRES: refs sorted,
  // indexed.
  void RemoveSeries(std::span<const SeriesRef> refs);
  // The pair ids of an indexed series; empty once removed.
  std::span<const uint32_t> LabelsOf(SeriesRef ref) const {
    const uint32_t* p = labels_[ref];
    return p == nullptr ? std::span<const uint32_t>() : std::span(p + 1, p[0]);
  }

  // Refs of live series matching every matcher, sorted. Charges its work
  // (each label value matched, each postings list combined) to `context`
  // and returns early, with a partial answer, once the context fails.
  std::vector<uint32_t> Select(std::span<const Matcher> matchers,
                               QueryContext& context) const;

  void AppendLabels(std::span<const uint32_t> pairs, Labels& out) const;

  // The index's bytes for live series: strings some live series uses, and
  // the postings, label arrays and lookup entries behind them.
  struct Usage {
    uint64_t label_bytes = 0;
    uint64_t index_bytes = 0;
  };
  Usage LiveUsage() const;

  // Active defragmentation (see alloc/defrag.h): the index's small objects
  // in phases, 0 the series' label arrays by ref, 1 the postings lists by
  // pair. Offers up to `batch` objects of `phase` from `position` on to
  // `defrag`, moving those it picks; returns the position to go on from, or
  // nullopt at the phase's end.
  static constexpr int kDefragPhases = 2;
  std::optional<uint64_t> DefragSome(int phase, uint64_t position,
                                     std::size_t batch,
                                     alloc::Defragmenter& defrag);

 private:
  template <typename T>
  using Alloc = alloc::ArenaAllocator<T>;
  using Postings = std::vector<uint32_t, Alloc<uint32_t>>;

  struct Pair {
    uint32_t name;
    uint32_t value;
    Postings postings;
  };

  // Hashes and compares refs by their label pair ids, so that a lookup can
  // pass the pair ids of labels not yet stored.
  struct PairIds {
    std::span<const uint32_t> ids;
  };
  struct RefHash {
    using is_transparent = void;
    const SeriesIndex* index;
    std::size_t operator()(SeriesRef ref) const;
    std::size_t operator()(PairIds key) const;
  };
  struct RefEq {
    using is_transparent = void;
    const SeriesIndex* index;
    bool operator()(SeriesRef a, SeriesRef b) const { return a == b; }
    bool operator()(SeriesRef a, PairIds b) const;
    bool operator()(PairIds a, SeriesRef b) const { return (*this)(b, a); }
  };

  std::optional<uint32_t> FindPair(uint32_t name, uint32_t value) const;
  // Stores pair `id` (a new id or a freed one) and counts its strings.
  void SetPair(uint32_t id, uint32_t name, uint32_t value);
  // Frees pairs whose postings are empty, and the strings they alone used.
  void FreePairs(std::span<const uint32_t> ids);
  // Refs matching one matcher (among series holding its label), or, for a
  // matcher that matches the empty value, refs it excludes.
  std::vector<uint32_t> MatchOne(const Matcher& m, QueryContext& context) const;
  // Interns `s`, storing stored()'s string_view (equal to s) if it is new.
  template <typename Stored>
  uint32_t Intern(std::string_view s, Stored stored);
  static absl::string_view View(std::string_view s) {
    return {s.data(), s.size()};
  }
  // Stores the pair ids of the next ref.
  void StoreLabels(SeriesRef ref, std::span<const uint32_t> pairs);

  alloc::Arena& arena_;
  // String bytes, bump-allocated in pages.
  std::vector<std::pair<char*, std::size_t>,
              Alloc<std::pair<char*, std::size_t>>>
      pages_;
  std::size_t page_used_ = 0;
  // A freed id keeps its old bytes' view, for a new string that fits.
  std::vector<absl::string_view, Alloc<absl::string_view>> symbols_;
  std::vector<uint32_t, Alloc<uint32_t>> symbol_refs_;  // pairs naming it
  std::vector<uint32_t, Alloc<uint32_t>> free_symbols_;
  absl::flat_hash_map<absl::string_view, uint32_t,
                      absl::Hash<absl::string_view>,
                      std::equal_to<absl::string_view>,
                      Alloc<std::pair<const absl::string_view, uint32_t>>>
      symbol_ids_;
  std::vector<Pair, Alloc<Pair>> pairs_;
  std::vector<uint32_t, Alloc<uint32_t>> free_pairs_;
  absl::flat_hash_map<uint64_t, uint32_t, absl::Hash<uint64_t>,
                      std::equal_to<uint64_t>,
                      Alloc<std::pair<const uint64_t, uint32_t>>>
      pair_ids_;
  // Label name id -> its pair ids (in no order), for regex and !=
  // matchers; a name without pairs has no entry.
  absl::flat_hash_map<uint32_t, Postings, absl::Hash<uint32_t>,
                      std::equal_to<uint32_t>,
                      Alloc<std::pair<const uint32_t, Postings>>>
      name_pairs_;
  // Ref -> [count, pair ids...], null once removed.
  std::vector<uint32_t*, Alloc<uint32_t*>> labels_;
  absl::flat_hash_set<SeriesRef, RefHash, RefEq, Alloc<SeriesRef>> series_;
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_SERIES_INTERNAL_SERIES_INDEX_H_
