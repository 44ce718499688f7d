// keel bench ranges: times building a RangeTable from feeds, opening its
// image, and single and batch lookups, against a plain reference in the same
// run: a sorted array of {16-byte start, 16-byte end, asn, pool index}
// searched with std::upper_bound (the seed's Go design).
//
//   keel bench ranges --table ../shared/data/ip2asn-v4.tsv
//       --table ../shared/data/ip2asn-v6.tsv --queries 10000000 --verify --json
//
// With no --table it reads the bundled sample feeds (tools/data, where the
// build found them: KEEL_DATA_DIR).
//
// IPv4 queries are uniform over 2^32; IPv6 queries are drawn from routed
// rows (a row with a record at random, then an address in it). Queries are
// made in chunks from a seeded generator, so memory stays flat; each timed
// pass over a chunk runs three times and the fastest counts. --verify
// compares every single and batch answer with the reference's, reports
// the count on stderr and exits 1 on any difference. The reference reads the
// same feed rows (sharing only the line parser) and needs them not to overlap.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "alloc/stats.h"
#include "core/io/line_reader.h"
#include "core/ip.h"
#include "core/ranges/internal/range_feed.h"
#include "core/ranges/range_table.h"
#include "core/ranges/range_table_builder.h"
#include "tools/command.h"
#include "tools/json.h"

namespace keel::tools {
namespace {

using u128 = unsigned __int128;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

struct ReferenceRow {
  uint64_t start_hi, start_lo, end_hi, end_lo;  // 16-byte start and end
  uint32_t asn;
  uint32_t pool;  // index into the pool of (country, name)
};

struct PoolEntry {
  std::string country;
  std::string name;
};

u128 Start(const ReferenceRow& r) {
  return u128{r.start_hi} << 64 | r.start_lo;
}
u128 End(const ReferenceRow& r) { return u128{r.end_hi} << 64 | r.end_lo; }

class Reference {
 public:
  absl::Status Load(const std::vector<std::string>& paths) {
    for (const std::string& path : paths) {
      auto reader = core::LineReader::Open(path);
      if (!reader.ok()) return reader.status();
      std::string_view line;
      std::string scratch;
      core::core_internal::FeedRow row;
      bool first = true;
      core::core_internal::FeedLayout layout{};
      while (reader->Next(&line)) {
        if (line.empty()) continue;
        if (first) {
          auto l = core::core_internal::DetectFeedLayout(line);
          if (!l.ok()) return l.status();
          layout = *l;
          first = false;
        }
        if (auto s = core::core_internal::ParseFeedLine(line, layout, &row,
                                                        &scratch);
            !s.ok()) {
          return s;
        }
        const auto& f = row.fields;
        if (f.asn == 0 && f.name.empty() && f.country.empty()) continue;
        std::string country(f.country);
        for (char& c : country) c = static_cast<char>(c & ~0x20);
        std::string key = absl::StrCat(
            country, "\t", absl::string_view(f.name.data(), f.name.size()));
        auto [it, inserted] = pool_ids_.try_emplace(key, pool_.size());
        if (inserted) pool_.push_back({country, std::string(f.name)});
        u128 s = row.first.bits(), e = row.last.bits();
        (row.first.is_v4() ? v4_ : v6_)
            .push_back({uint64_t(s >> 64), uint64_t(s), uint64_t(e >> 64),
                        uint64_t(e), f.asn, it->second});
      }
      if (!reader->status().ok()) return reader->status();
    }
    for (auto* rows : {&v4_, &v6_}) {
      std::sort(rows->begin(), rows->end(),
                [](const ReferenceRow& a, const ReferenceRow& b) {
                  return Start(a) < Start(b);
                });
      // Adjacent rows with one record are one range, as in the table.
      std::vector<ReferenceRow> merged;
      for (const ReferenceRow& r : *rows) {
        if (!merged.empty() && Start(r) <= End(merged.back())) {
          return absl::InvalidArgumentError(
              "the reference needs feeds whose rows do not overlap");
        }
        if (!merged.empty() && End(merged.back()) + 1 == Start(r) &&
            merged.back().asn == r.asn && merged.back().pool == r.pool) {
          merged.back().end_hi = r.end_hi;
          merged.back().end_lo = r.end_lo;
        } else {
          merged.push_back(r);
        }
      }
      *rows = std::move(merged);
      rows->shrink_to_fit();
    }
    return absl::OkStatus();
  }

  // The row holding `address` (as a 128-bit number), or nullptr.
  const ReferenceRow* Find(bool v6, u128 address) const {
    const auto& rows = v6 ? v6_ : v4_;
    auto it = std::upper_bound(
        rows.begin(), rows.end(), address,
        [](u128 a, const ReferenceRow& r) { return a < Start(r); });
    if (it == rows.begin()) return nullptr;
    --it;
    return address <= End(*it) ? &*it : nullptr;
  }

  const PoolEntry& PoolAt(uint32_t i) const { return pool_[i]; }
  const std::vector<ReferenceRow>& v6_rows() const { return v6_; }

  size_t Bytes() const {
    size_t bytes = (v4_.capacity() + v6_.capacity()) * sizeof(ReferenceRow) +
                   pool_.capacity() * sizeof(PoolEntry);
    for (const PoolEntry& e : pool_) {
      if (e.name.capacity() > 15) bytes += e.name.capacity() + 1;
    }
    return bytes;
  }
  void DropPoolIndex() {
    absl::flat_hash_map<std::string, uint32_t>().swap(pool_ids_);
  }

 private:
  std::vector<ReferenceRow> v4_, v6_;
  std::vector<PoolEntry> pool_;
  absl::flat_hash_map<std::string, uint32_t> pool_ids_;
};

// splitmix64: a small seeded generator, the same sequence on every pass.
struct Random {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

constexpr size_t kChunk = 1 << 20;
constexpr int kRuns = 3;

void MakeV4(Random& random, size_t n, std::vector<core::Ipv4>* out) {
  out->resize(n);
  for (auto& a : *out) a = core::Ipv4(static_cast<uint32_t>(random.Next()));
}

void MakeV6(Random& random, const std::vector<ReferenceRow>& routed, size_t n,
            std::vector<core::Ipv6>* out) {
  out->resize(n);
  for (auto& a : *out) {
    const ReferenceRow& r = routed[random.Next() % routed.size()];
    u128 span = End(r) - Start(r);  // addresses in the row, less one
    u128 x = u128{random.Next()} << 64 | random.Next();
    u128 offset = span == ~u128{0} ? x : x % (span + 1);
    a = core::Ipv6(Start(r) + offset);
  }
}

bool Same(const std::optional<core::RangeRecord>& got, const ReferenceRow* want,
          const Reference& ref) {
  if (!got.has_value() || want == nullptr)
    return !got.has_value() && want == nullptr;
  const PoolEntry& p = ref.PoolAt(want->pool);
  return got->asn == want->asn && got->country == p.country &&
         got->name == p.name;
}

bool SameMatch(const std::optional<core::RangeMatch>& got,
               const ReferenceRow* want, const Reference& ref) {
  if (!got.has_value()) return want == nullptr;
  return Same(got->record, want, ref) && got->first.bits() == Start(*want) &&
         got->last.bits() == End(*want);
}

struct RangesFlags {
  std::vector<std::string> tables;
  uint64_t queries = 1000000;
  uint64_t seed = 1;
  std::string overlap = "error";
  bool verify = false;
  bool json = false;  // the output is JSON either way
};

int RunBenchRanges(const RangesFlags& flags) {
  constexpr char kName[] = "bench ranges";
  std::vector<std::string> paths = flags.tables;
  if (paths.empty()) {
    paths = {KEEL_DATA_DIR "/ip2asn-v4.tsv", KEEL_DATA_DIR "/ip2asn-v6.tsv"};
  }
  const uint64_t queries = flags.queries;
  const uint64_t seed = flags.seed;
  auto overlap = core::ParseOverlapPolicy(flags.overlap);
  if (!overlap.ok()) return UsageError(kName, overlap.status());
  const bool verify = flags.verify;

  auto t0 = Clock::now();
  auto table = core::LoadRangeTable(paths, *overlap);
  double load_seconds = Seconds(Clock::now() - t0);
  if (!table.ok()) return Fail(kName, table.status());

  // Image: write, then open it a few times; the median open counts.
  std::string image =
      absl::StrCat("/tmp/keel_bench_ranges_", getpid(), ".keel");
  if (auto s = table->Save(image); !s.ok()) return Fail(kName, s);
  std::vector<double> opens;
  for (int i = 0; i < 7; ++i) {
    auto t = Clock::now();
    auto mapped = core::RangeTable::OpenMapped(image);
    opens.push_back(Seconds(Clock::now() - t));
    if (!mapped.ok()) return Fail(kName, mapped.status());
  }
  std::remove(image.c_str());
  std::sort(opens.begin(), opens.end());

  Reference ref;
  if (auto s = ref.Load(paths); !s.ok()) return Fail(kName, s);
  ref.DropPoolIndex();
  std::vector<ReferenceRow> routed6 = ref.v6_rows();

  uint64_t sink = 0;
  uint64_t mismatches = 0;
  std::vector<core::Ipv4> v4;
  std::vector<core::Ipv6> v6;
  std::vector<std::optional<core::RangeRecord>> batch(kChunk);
  Clock::duration t_v4{}, t_v6{}, t_v4_batch{}, t_v6_batch{}, t_ref{};

  Random random4{seed}, random6{seed ^ 0x5555};
  for (uint64_t done = 0; done < queries; done += kChunk) {
    size_t n = std::min<uint64_t>(kChunk, queries - done);
    MakeV4(random4, n, &v4);
    MakeV6(random6, routed6, n, &v6);

    // Each pass runs kRuns times and its fastest run counts: on a shared
    // machine the slower runs measure the neighbours, not the table.
    auto best = [](auto&& pass) {
      Clock::duration fastest = Clock::duration::max();
      for (int run = 0; run < kRuns; ++run) {
        auto t = Clock::now();
        pass();
        fastest = std::min(fastest, Clock::now() - t);
      }
      return fastest;
    };
    t_v4 += best([&] {
      for (const auto& a : v4) {
        auto m = table->Lookup(a);
        sink += m ? m->record.asn + m->first.bits() : 1;
      }
    });
    t_v6 += best([&] {
      for (const auto& a : v6) {
        auto m = table->Lookup(a);
        sink += m ? m->record.asn + m->last.v6().lo() : 1;
      }
    });
    t_v4_batch += best([&] { table->LookupBatch(v4, batch); });
    for (size_t i = 0; i < n; ++i) sink += batch[i] ? batch[i]->asn : 1;
    if (verify) {
      for (size_t i = 0; i < n; ++i) {
        mismatches += !Same(batch[i], ref.Find(false, v4[i].bits()), ref);
      }
    }
    t_v6_batch += best([&] { table->LookupBatch(v6, batch); });
    for (size_t i = 0; i < n; ++i) sink += batch[i] ? batch[i]->asn : 1;
    if (verify) {
      for (size_t i = 0; i < n; ++i) {
        mismatches += !Same(batch[i], ref.Find(true, v6[i].bits()), ref);
      }
    }
    t_ref += best([&] {
      for (const auto& a : v4) {
        const ReferenceRow* r = ref.Find(false, a.bits());
        sink += r ? r->asn + r->pool : 1;
      }
    });
    if (verify) {
      for (size_t i = 0; i < n; ++i) {
        mismatches += !SameMatch(table->Lookup(v4[i]),
                                 ref.Find(false, v4[i].bits()), ref);
        mismatches +=
            !SameMatch(table->Lookup(v6[i]), ref.Find(true, v6[i].bits()), ref);
      }
    }
  }
  auto rate = [&](Clock::duration d) {
    return static_cast<double>(queries) / Seconds(d);
  };
  JsonObject out;
  out.Add("rows", uint64_t{table->v4_rows() + table->v6_rows()})
      .Add("table_bytes", uint64_t{table->table_bytes()})
      .Add("load_seconds", load_seconds)
      .Add("image_open_seconds", opens[opens.size() / 2])
      .Add("v4_lookups_per_sec", rate(t_v4))
      .Add("v6_lookups_per_sec", rate(t_v6))
      .Add("v4_batch_lookups_per_sec", rate(t_v4_batch))
      .Add("v6_batch_lookups_per_sec", rate(t_v6_batch))
      .Add("reference_v4_lookups_per_sec", rate(t_ref))
      .Add("reference_table_bytes", uint64_t{ref.Bytes()})
      .Add("rss_bytes", alloc::ProcessRssBytes());
  std::printf("%s\n", out.str().c_str());
  // The answers feed `sink`, so the timed loops cannot be optimised away.
  __asm__ volatile("" : : "r"(sink) : "memory");
  if (verify) {
    std::fprintf(stderr, "verify: %llu differences in %llu queries a kind\n",
                 static_cast<unsigned long long>(mismatches),
                 static_cast<unsigned long long>(queries));
  }
  return verify && mismatches != 0 ? 1 : 0;
}

CommandRun SetUpBenchRanges(CLI::App& app) {
  auto flags = std::make_shared<RangesFlags>();
  app.add_option("--table", flags->tables,
                 "an ip2asn feed (TSV or CSV, gzip too); repeat for several "
                 "(default: the bundled sample, " KEEL_DATA_DIR
                 "/ip2asn-v4.tsv and ip2asn-v6.tsv; scripts/fetch-data gets "
                 "the full feeds)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--queries", flags->queries, "lookups of each kind")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--seed", flags->seed, "the queries' random seed");
  app.add_option("--overlap", flags->overlap,
                 "overlapping ranges in the feeds: an error, or the first or "
                 "last given wins")
      ->check(CLI::IsMember({"error", "first", "last"}));
  app.add_flag("--verify", flags->verify,
               "compare every answer with the reference's; exit 1 on any "
               "difference");
  app.add_flag("--json", flags->json,
               "JSON output (the only format; accepted for scripts)");
  app.footer("Prints one JSON object of rates, sizes and times.");
  return [flags] { return RunBenchRanges(*flags); };
}

}  // namespace

KEEL_COMMAND("bench ranges",
             "time RangeTable load, image open and lookups against a plain "
             "sorted-array reference",
             SetUpBenchRanges);

}  // namespace keel::tools
