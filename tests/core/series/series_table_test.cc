// SeriesTable: refs are handed out once, the records of removed refs are
// reused by later ones.
#include "core/series/internal/series_table.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "alloc/arena.h"

namespace keel::core::core_internal {
namespace {

Series Marked(uint32_t mark) {
  Series s;
  s.head_last = mark;
  s.sealed_count = mark;
  return s;
}

TEST_CASE("removed refs stay unique and dead; their records are reused") {
  alloc::Arena arena("series_table_test");
  SeriesTable table(arena);
  std::vector<SeriesRef> refs;
  for (uint32_t i = 0; i < 3000; ++i) {
    SeriesRef ref;
    REQUIRE(table.Add(Marked(i), ref));
    REQUIRE(ref == i);
    refs.push_back(ref);
  }
  REQUIRE(table.slot_count() == 3000);
  REQUIRE(table.Find(3000) == nullptr);

  // Drop every other ref, then add as many: new refs, the old records.
  for (uint32_t i = 0; i < 3000; i += 2) table.Remove(refs[i]);
  for (uint32_t i = 0; i < 3000; i += 2) {
    REQUIRE(table.Find(refs[i]) != nullptr);
    REQUIRE(table.Find(refs[i])->dead);
    REQUIRE(table.Find(refs[i])->head == nullptr);
  }
  for (uint32_t i = 0; i < 1500; ++i) {
    SeriesRef ref;
    REQUIRE(table.Add(Marked(10000 + i), ref));
    REQUIRE(ref == 3000 + i);
  }
  REQUIRE(table.size() == 4500);
  REQUIRE(table.slot_count() == 3000);
  for (uint32_t i = 1; i < 3000; i += 2) {
    REQUIRE_FALSE(table.Find(i)->dead);
    REQUIRE(table.Find(i)->sealed_count == i);
  }
  for (uint32_t i = 0; i < 1500; ++i) {
    const Series* s = table.Find(3000 + i);
    REQUIRE_FALSE(s->dead);
    REQUIRE(s->head_last == 10000 + i);
    REQUIRE(s->sealed_count == 10000 + i);
  }
  // Every live ref has a record of its own.
  std::vector<const Series*> records;
  for (SeriesRef ref = 0; ref < table.size(); ++ref) {
    if (!table.Find(ref)->dead) records.push_back(table.Find(ref));
  }
  std::sort(records.begin(), records.end());
  REQUIRE(std::adjacent_find(records.begin(), records.end()) == records.end());
  REQUIRE(records.size() == 3000);

  // With no free record left, the table grows again.
  SeriesRef ref;
  REQUIRE(table.Add(Marked(1), ref));
  REQUIRE(table.slot_count() == 3001);
}

}  // namespace
}  // namespace keel::core::core_internal
