// Helpers shared by the SeriesStore tests: reading a series back as
// (timestamp, value bits) pairs, parsing a selector, and refs that must exist.
#ifndef KEEL_TESTS_CORE_SERIES_SERIES_STORE_TESTING_H_
#define KEEL_TESTS_CORE_SERIES_SERIES_STORE_TESTING_H_

#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "core/series/selector.h"
#include "core/series/series_store.h"

namespace keel::core::series_store_testing {

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kAll = std::numeric_limits<int64_t>::max();
constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

struct Sample {
  int64_t t;
  uint64_t bits;
  friend bool operator==(const Sample&, const Sample&) = default;
};

inline std::vector<Sample> Read(const SeriesSet& set,
                                const SeriesSet::Entry& e) {
  std::vector<Sample> out;
  for (auto it = set.Samples(e); it.Next();) {
    out.push_back({it.t(), std::bit_cast<uint64_t>(it.v())});
  }
  return out;
}

inline std::vector<Sample> ReadRef(const SeriesStore& store, SeriesRef ref) {
  SeriesSet set = store.Cut();
  for (const auto& e : set.series()) {
    if (e.ref == ref) return Read(set, e);
  }
  return {};
}

inline std::vector<Matcher> Sel(const char* text) {
  auto m = ParseSelector(text);
  REQUIRE(m.ok());
  return *m;
}

inline SeriesRef Ref(SeriesStore& store, Labels labels) {
  auto ref = store.GetOrCreate(std::move(labels));
  REQUIRE(ref.ok());
  return *ref;
}

}  // namespace keel::core::series_store_testing

#endif  // KEEL_TESTS_CORE_SERIES_SERIES_STORE_TESTING_H_
