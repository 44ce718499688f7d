// SeriesIndex under turnover: removing a generation frees the pairs and
// strings only it used, new series reuse them, and lookups stay right.
#include "core/series/internal/series_index.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alloc/arena.h"

namespace keel::core::core_internal {
namespace {

// Series `i` of host `host`: the host's instance is its own, the other
// labels are shared by every host.
Labels HostSeries(int host, int i) {
  return {{"__name__", absl::StrCat("metric_", i)},
          {"instance", absl::StrCat("10.0.", host / 256, ".", host % 256)},
          {"job", "node"}};
}

std::vector<uint32_t> SelectInstance(const SeriesIndex& index,
                                     const std::string& regex) {
  QueryContext context(QueryLimits::Unbounded());
  std::vector<Matcher> m = {
      *Matcher::Create(MatchType::kRegexMatch, "instance", regex)};
  return index.Select(m, context);
}

class Generations {
 public:
  explicit Generations(SeriesIndex& index) : index_(index) {}
  // Adds `hosts` hosts of 4 series each; returns their refs.
  std::vector<SeriesRef> Add(int first_host, int hosts) {
    std::vector<SeriesRef> refs;
    for (int h = first_host; h < first_host + hosts; ++h) {
      for (int i = 0; i < 4; ++i) {
        std::vector<uint32_t> pairs;
        index_.InternPairs(HostSeries(h, i), pairs);
        REQUIRE_FALSE(index_.FindSeries(pairs).has_value());
        index_.AddSeries(next_, pairs);
        labels_.push_back(HostSeries(h, i));
        refs.push_back(next_++);
      }
    }
    return refs;
  }
  const Labels& LabelsOf(SeriesRef ref) const { return labels_[ref]; }

 private:
  SeriesIndex& index_;
  SeriesRef next_ = 0;
  std::vector<Labels> labels_;
};

TEST_CASE("a dead generation's pairs and strings are freed and reused") {
  alloc::Arena arena("series_index_test");
  SeriesIndex index(arena);
  Generations g(index);
  std::vector<SeriesRef> old = g.Add(0, 100);
  std::vector<SeriesRef> kept = g.Add(100, 100);
  std::size_t pairs = index.pair_count();
  std::size_t symbols = index.symbol_count();
  SeriesIndex::Usage full = index.LiveUsage();

  index.RemoveSeries(old);
  // One instance pair and string a dead host: the shared ones stay.
  REQUIRE(index.free_pair_count() == 100);
  REQUIRE(index.free_symbol_count() == 100);
  SeriesIndex::Usage half = index.LiveUsage();
  REQUIRE(half.label_bytes < full.label_bytes);
  REQUIRE(half.index_bytes < full.index_bytes);
  std::vector<uint32_t> ids;
  REQUIRE_FALSE(index.FindPairs(HostSeries(5, 0), ids));
  REQUIRE_FALSE(index.FindSymbol("10.0.0.5").has_value());
  // Hosts 100-199 are left of 10.0.0.x.
  REQUIRE(SelectInstance(index, "10\\.0\\.0\\..*").size() == 4 * 100);

  // A new generation takes the freed ids: no new pairs or strings.
  std::vector<SeriesRef> young = g.Add(1000, 100);
  REQUIRE(index.free_pair_count() == 0);
  REQUIRE(index.free_symbol_count() == 0);
  REQUIRE(index.pair_count() == pairs);
  REQUIRE(index.symbol_count() == symbols);

  for (const std::vector<SeriesRef>* refs : {&kept, &young}) {
    for (SeriesRef ref : *refs) {
      REQUIRE(index.FindPairs(g.LabelsOf(ref), ids));
      REQUIRE(index.FindSeries(ids) == ref);
      Labels back;
      index.AppendLabels(index.LabelsOf(ref), back);
      REQUIRE(back == g.LabelsOf(ref));
    }
  }
  for (SeriesRef ref : old) {
    REQUIRE(index.LabelsOf(ref).empty());
    REQUIRE_FALSE(index.FindPairs(g.LabelsOf(ref), ids));
  }
  // Regex matchers walk the name's pairs: only live values answer.
  std::vector<uint32_t> all = SelectInstance(index, ".+");
  REQUIRE(all.size() == kept.size() + young.size());
  std::vector<uint32_t> hosts_1000 = SelectInstance(index, "10\\.0\\.3\\..*");
  REQUIRE(hosts_1000.size() == 4 * 24);  // hosts 1000-1023 are 10.0.3.x

  // Everything dies: every pair and string is free, and a series with a
  // label name never seen before takes a freed name's id.
  std::vector<SeriesRef> rest = kept;
  rest.insert(rest.end(), young.begin(), young.end());
  index.RemoveSeries(rest);
  REQUIRE(index.free_pair_count() == index.pair_count());
  REQUIRE(index.free_symbol_count() == index.symbol_count());
  REQUIRE(SelectInstance(index, ".+").empty());
  std::vector<uint32_t> pairs_new;
  index.InternPairs({{"zone", "a"}}, pairs_new);
  index.AddSeries(static_cast<SeriesRef>(old.size() + rest.size()), pairs_new);
  QueryContext context(QueryLimits::Unbounded());
  std::vector<Matcher> zone = {
      *Matcher::Create(MatchType::kRegexMatch, "zone", "a|b")};
  REQUIRE(index.Select(zone, context).size() == 1);
  REQUIRE(SelectInstance(index, ".+").empty());
}

}  // namespace
}  // namespace keel::core::core_internal
