// keel bench prefixes: PrefixTable on a full BGP table.
//
// Loads --table (default: the bundled sample, tools/data/pfx2as-v4.dat where
// the build found it, KEEL_DATA_DIR) and prints
// one JSON object:
//   prefixes, table_bytes, bytes_per_prefix  the loaded table (its arena's
//                            allocations plus the object, value included)
//   load_seconds             reading and inserting the file
//   insert_ns, remove_ns     every prefix inserted in random order into an
//                            empty table, then removed in random order, in
//                            batches of kWriteBatch writes (a feed writer's
//                            unit of publication; see prefix_table.h)
//   lookup_ns, lookups_per_sec  Longest() of --queries uniform random IPv4
//                            addresses, one at a time, through one Reader
//   batch_lookups_per_sec    the same addresses through LookupBatch
//   more_specifics_per_sec   MoreSpecifics() of table prefixes drawn at
//                            random, visiting every result
//   reference_lookups_per_sec  the same lookups in a plain binary trie (one
//                            node per bit) built in this run
//   resident_empty           the table arena's resident bytes when empty
//   resident_after_remove_all  the same after removing every prefix,
//                            reclaiming and alloc::Purge
//   passes                   --passes (default 3): each time above is the
//                            fastest of that many runs (the writes: that
//                            many rounds of inserting everything and
//                            removing it again, reclaiming in between).
// Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID). On a shared
// machine the other tenants' memory traffic slows whole seconds of a run
// several times over, the reference as much as the table; the fastest pass
// is the one that timed the table rather than them.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "alloc/purge.h"
#include "alloc/stats.h"
#include "core/ip.h"
#include "core/prefixes/prefix_loader.h"
#include "core/prefixes/prefix_table.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "bench prefixes";
constexpr size_t kWriteBatch = 64;

// Where the lookups' results go, so that they are not optimized away.
volatile uint64_t sink;

using core::Ipv4;
using core::Prefix;
using Table = core::PrefixTable<uint32_t>;

// The calling thread's CPU time: on a shared machine, time the thread spent
// descheduled is other processes' cost, not the table's.
double Seconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + now.tv_nsec * 1e-9;
}

// The yardstick: a binary trie with one node per bit, IPv4 only.
class BinaryTrie {
 public:
  BinaryTrie() { nodes_.push_back({}); }
  void Insert(uint32_t key, int length, uint32_t value) {
    uint32_t at = 0;
    for (int bit = 0; bit < length; ++bit) {
      unsigned side = (key >> (31 - bit)) & 1;
      if (nodes_[at].child[side] == 0) {
        nodes_[at].child[side] = static_cast<uint32_t>(nodes_.size());
        nodes_.push_back({});
      }
      at = nodes_[at].child[side];
    }
    nodes_[at].has_value = true;
    nodes_[at].value = value;
  }
  std::optional<uint32_t> Longest(uint32_t key) const {
    std::optional<uint32_t> best;
    uint32_t at = 0;
    for (int bit = 0;; ++bit) {
      if (nodes_[at].has_value) best = nodes_[at].value;
      if (bit == 32) break;
      uint32_t next = nodes_[at].child[(key >> (31 - bit)) & 1];
      if (next == 0) break;
      at = next;
    }
    return best;
  }

 private:
  struct Node {
    uint32_t child[2] = {0, 0};
    uint32_t value = 0;
    bool has_value = false;
  };
  std::vector<Node> nodes_;
};

struct Row {
  Prefix prefix;
  uint32_t origin;
};

template <class Fn>
double NanosEach(size_t count, Fn&& fn) {
  double start = Seconds();
  fn();
  return (Seconds() - start) * 1e9 / static_cast<double>(count);
}

// The fastest of `passes` runs of fn, in nanoseconds per item.
template <class Fn>
double BestNanosEach(uint64_t passes, size_t count, Fn&& fn) {
  double best = NanosEach(count, fn);
  for (uint64_t pass = 1; pass < passes; ++pass) {
    best = std::min(best, NanosEach(count, fn));
  }
  return best;
}

// The sum of the values Longest() finds for `addresses`. A function of its
// own, so that the loop is compiled apart from the long function around it
// (which would otherwise leave lookup helpers out of line and the sum in
// memory). The sum takes each value, or 0, without a branch: a third of
// random addresses have no route, and a branch on that would time the
// loop's mispredictions rather than the table.
[[gnu::noinline]] uint64_t SumLongest(const Table::Reader& reader,
                                      const std::vector<Ipv4>& addresses) {
  uint64_t sum = 0;
  for (Ipv4 a : addresses) {
    const auto m = reader.Longest(a);
    sum += m ? m->value : 0;
  }
  return sum;
}

void Write(Table& table, const std::vector<Row>& rows, bool insert) {
  for (size_t begin = 0; begin < rows.size(); begin += kWriteBatch) {
    Table::Batch batch(table);
    size_t end = std::min(rows.size(), begin + kWriteBatch);
    for (size_t i = begin; i < end; ++i) {
      if (insert) {
        table.Insert(rows[i].prefix, rows[i].origin);
      } else {
        table.Remove(rows[i].prefix);
      }
    }
  }
}

struct PrefixesFlags {
  std::string table = KEEL_DATA_DIR "/pfx2as-v4.dat";
  uint64_t queries = 10'000'000;
  uint64_t passes = 3;
  bool json = false;  // the output is JSON either way
};

int RunPrefixesBench(const PrefixesFlags& flags) {
  const std::string& path = flags.table;
  const uint64_t queries = flags.queries;
  const uint64_t passes = flags.passes;

  Table loaded;
  double start = Seconds();
  auto stats = core::LoadPrefixTable(path, {}, loaded);
  double load_seconds = Seconds() - start;
  if (!stats.ok()) return Fail(kName, stats.status());
  const size_t table_bytes = loaded.memory_bytes();
  const size_t prefixes = loaded.size();

  std::vector<Row> rows;
  rows.reserve(prefixes);
  BinaryTrie reference;
  loaded.ForEach([&](const Prefix& p, uint32_t origin) {
    rows.push_back({p, origin});
    if (p.is_v4()) {
      reference.Insert(static_cast<uint32_t>(p.address().bits()), p.length(),
                       origin);
    }
  });
  std::mt19937_64 rng(20140513);

  Table table;
  alloc::Purge(table.arena());
  const uint64_t resident_empty =
      alloc::CaptureArenaStats(table.arena()).memory.resident;
  std::vector<Ipv4> addresses(queries);
  for (Ipv4& a : addresses) a = Ipv4(static_cast<uint32_t>(rng()));
  uint64_t checksum = 0;
  double insert_ns = 0, remove_ns = 0;
  double lookup_ns = 0, batch_ns = 0, reference_ns = 0, more_ns = 0;
  for (uint64_t round = 0; round < passes; ++round) {
    std::shuffle(rows.begin(), rows.end(), rng);
    const double round_insert =
        NanosEach(rows.size(), [&] { Write(table, rows, true); });
    insert_ns = round == 0 ? round_insert : std::min(insert_ns, round_insert);
    if (round + 1 == passes) {
      const Table::Reader reader(table);
      lookup_ns = BestNanosEach(passes, addresses.size(), [&] {
        checksum += SumLongest(reader, addresses);
      });
      std::vector<std::optional<uint32_t>> results(addresses.size());
      batch_ns = BestNanosEach(passes, addresses.size(),
                               [&] { reader.LookupBatch(addresses, results); });
      for (const auto& r : results) checksum -= r.value_or(0);
      reference_ns = BestNanosEach(passes, addresses.size(), [&] {
        for (Ipv4 a : addresses)
          checksum += reference.Longest(a.bits()).value_or(0);
      });
      const size_t more_queries = std::min<size_t>(rows.size(), 200'000);
      uint64_t visited = 0;
      more_ns = BestNanosEach(passes, more_queries, [&] {
        for (size_t i = 0; i < more_queries; ++i) {
          reader.MoreSpecifics(rows[i].prefix,
                               [&](const Prefix&, uint32_t) { ++visited; });
        }
      });
      checksum += visited;
    }
    std::shuffle(rows.begin(), rows.end(), rng);
    const double round_remove =
        NanosEach(rows.size(), [&] { Write(table, rows, false); });
    remove_ns = round == 0 ? round_remove : std::min(remove_ns, round_remove);
    // Empty as at the start: nothing retired or cached, a fresh arena.
    table.Reclaim();
    if (table.size() != 0) {
      return Fail(kName, absl::InternalError("table not empty after removals"));
    }
  }
  alloc::Purge(table.arena());
  const uint64_t resident_after =
      alloc::CaptureArenaStats(table.arena()).memory.resident;
  sink = checksum;

  JsonObject out;
  out.Add("prefixes", static_cast<uint64_t>(prefixes))
      .Add("table_bytes", static_cast<uint64_t>(table_bytes))
      .Add("bytes_per_prefix",
           static_cast<double>(table_bytes) /
               static_cast<double>(std::max<size_t>(prefixes, 1)))
      .Add("load_seconds", load_seconds)
      .Add("insert_ns", insert_ns)
      .Add("remove_ns", remove_ns)
      .Add("lookup_ns", lookup_ns)
      .Add("lookups_per_sec", 1e9 / lookup_ns)
      .Add("batch_lookups_per_sec", 1e9 / batch_ns)
      .Add("more_specifics_per_sec", 1e9 / more_ns)
      .Add("reference_lookups_per_sec", 1e9 / reference_ns)
      .Add("resident_after_remove_all", resident_after)
      .Add("resident_empty", resident_empty)
      .Add("passes", passes);
  std::printf("%s\n", out.str().c_str());
  return 0;
}

CommandRun SetUpPrefixesBench(CLI::App& app) {
  auto flags = std::make_shared<PrefixesFlags>();
  app.add_option("--table", flags->table,
                 "a prefix-to-origin file (default: the bundled sample; "
                 "scripts/fetch-data gets a full RouteViews pfx2as table)");
  app.add_option("--queries", flags->queries, "random IPv4 lookups")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--passes", flags->passes,
                 "runs of each timing; the fastest counts")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000}));
  app.add_flag("--json", flags->json,
               "JSON output (the only format; accepted for scripts)");
  app.footer("Prints one JSON object (see bench/prefixes_bench.cc).");
  return [flags] { return RunPrefixesBench(*flags); };
}

}  // namespace

KEEL_COMMAND("bench prefixes",
             "PrefixTable on a BGP table: memory, writes, lookups (JSON)",
             SetUpPrefixesBench);

}  // namespace keel::tools
