// keel lookup: answers IP addresses from range tables (feeds or an image).
//
//   keel lookup --table ip2asn-v4.tsv --table ip2asn-v6.tsv 1.1.1.1 ::1
//   keel lookup --table ip2asn.keel < addresses.txt
//   gunzip -c ip2asn-v4.tsv.gz | keel lookup --table - 1.1.1.1
//
// One line per address: IP<TAB>ASN<TAB>COUNTRY<TAB>NAME, "-" for a field the
// table lacks, or IP<TAB>- when no range holds it. A bad address prints
// IP<TAB>error: why on stderr (a long one cut to 100 bytes and its length);
// the others go on and the exit code is 1. A line of stdin longer than
// LineReader::kMaxLineBytes, or a read error, stops it with exit code 1.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/ip.h"
#include "core/ranges/range_table.h"
#include "core/ranges/range_table_builder.h"
#include "tools/command.h"
#include "tools/stdin_lines.h"

namespace keel::tools {
namespace {

// A bad line as stderr shows it: its first kMaxShown bytes, escaped, and
// then its length, so that a line of garbage cannot flood the terminal.
std::string Shown(std::string_view text) {
  constexpr size_t kMaxShown = 100;
  std::string_view head = text.substr(0, kMaxShown);
  std::string shown =
      absl::CHexEscape(absl::string_view(head.data(), head.size()));
  if (text.size() > kMaxShown) {
    absl::StrAppend(&shown, "... (", text.size(), " bytes)");
  }
  return shown;
}

// Answers addresses in batches of up to kBatch, in input order, through
// RangeTable::LookupBatch: its interleaved searches overlap their cache
// misses, and it reads only the records, the one thing this command prints
// (not the ranges' bounds, whose pages a mapped image then never maps in).
class Answerer {
 public:
  explicit Answerer(const core::RangeTable& table) : table_(table) {}

  // Queues `text`; answers the queue when it is full. A bad address prints
  // its error on stderr after the answers before it.
  void Add(std::string_view text) {
    auto address = core::IpAddress::Parse(text);
    if (!address.ok()) {
      Flush();
      std::fflush(stdout);  // so that a file or pipe keeps the order too
      std::string shown = Shown(text);
      std::fprintf(stderr, "%s\terror: %.*s\n", shown.c_str(),
                   static_cast<int>(address.status().message().size()),
                   address.status().message().data());
      all_good_ = false;
      return;
    }
    queued_.push_back({texts_.size(), text.size(), address->is_v4()});
    texts_.append(text);
    if (address->is_v4()) {
      v4_.push_back(address->v4());
    } else {
      v6_.push_back(address->v6());
    }
    if (queued_.size() == kBatch) Answer();
  }

  // Answers the queue and writes out everything answered so far.
  void Flush() {
    Answer();
    Write();
  }

  bool all_good() const { return all_good_; }

 private:
  static constexpr size_t kBatch = 256;
  static constexpr size_t kOutputBytes = 16 << 10;  // written out past this

  struct Queued {
    size_t offset;  // of its text in texts_
    size_t length;
    bool v4;
  };

  void Answer() {
    records_v4_.resize(v4_.size());
    records_v6_.resize(v6_.size());
    table_.LookupBatch(std::span<const core::Ipv4>(v4_), records_v4_);
    table_.LookupBatch(std::span<const core::Ipv6>(v6_), records_v6_);
    size_t next_v4 = 0, next_v6 = 0;
    for (const Queued& q : queued_) {
      const std::optional<core::RangeRecord>& match =
          q.v4 ? records_v4_[next_v4++] : records_v6_[next_v6++];
      Append(absl::string_view(texts_.data() + q.offset, q.length), match);
    }
    queued_.clear();
    texts_.clear();
    v4_.clear();
    v6_.clear();
    if (out_.size() > kOutputBytes) Write();
  }

  void Write() {
    std::fwrite(out_.data(), 1, out_.size(), stdout);
    out_.clear();
  }

  // One line: IP<TAB>ASN<TAB>COUNTRY<TAB>NAME, or IP<TAB>- for a gap.
  void Append(absl::string_view text,
              const std::optional<core::RangeRecord>& match) {
    if (!match) {
      absl::StrAppend(&out_, text, "\t-\n");
      return;
    }
    auto field = [](std::string_view s) {
      return s.empty() ? absl::string_view("-")
                       : absl::string_view(s.data(), s.size());
    };
    absl::AlphaNum asn =
        match->asn == 0 ? absl::AlphaNum("-") : absl::AlphaNum(match->asn);
    absl::StrAppend(&out_, text, "\t", asn, "\t", field(match->country), "\t",
                    field(match->name), "\n");
  }

  const core::RangeTable& table_;
  std::vector<Queued> queued_;
  std::string texts_;
  std::vector<core::Ipv4> v4_;
  std::vector<core::Ipv6> v6_;
  std::vector<std::optional<core::RangeRecord>> records_v4_, records_v6_;
  std::string out_;
  bool all_good_ = true;
};

struct LookupFlags {
  std::vector<std::string> tables;
  std::string overlap = "error";
  std::vector<std::string> addresses;
};

int RunLookup(const LookupFlags& flags) {
  constexpr char kName[] = "lookup";
  std::vector<std::string> tables;
  for (const std::string& t : flags.tables) tables.push_back(InputPath(t));
  const bool table_on_stdin =
      std::find(flags.tables.begin(), flags.tables.end(), "-") !=
      flags.tables.end();
  if (table_on_stdin && flags.addresses.empty()) {
    return UsageError(kName, absl::InvalidArgumentError(
                                 "--table - reads the table from stdin: give "
                                 "the addresses as arguments"));
  }
  auto overlap = core::ParseOverlapPolicy(flags.overlap);
  if (!overlap.ok()) return UsageError(kName, overlap.status());
  // Mapped: a command lives for one batch of lookups, and reading only the
  // pages it touches keeps it within its RSS budget (README).
  auto table =
      core::LoadRangeTable(tables, *overlap, core::ImageHolding::kMapped);
  if (!table.ok()) return Fail(kName, table.status());

  Answerer answerer(*table);
  if (!flags.addresses.empty()) {
    for (const std::string& ip : flags.addresses) answerer.Add(ip);
  } else {
    StdinLines lines;
    std::string_view line;
    while (lines.Next(&line)) {
      absl::string_view stripped = absl::StripAsciiWhitespace(
          absl::string_view(line.data(), line.size()));
      std::string_view text(stripped.data(), stripped.size());
      if (!text.empty()) answerer.Add(text);
    }
    if (!lines.status().ok()) {
      answerer.Flush();
      return Fail(kName, lines.status());
    }
  }
  answerer.Flush();
  return answerer.all_good() ? 0 : 1;
}

CommandRun SetUpLookup(CLI::App& app) {
  auto flags = std::make_shared<LookupFlags>();
  app.add_option("--table", flags->tables,
                 "a range table: an ip2asn TSV or CSV feed (gzip too) or an "
                 "image from `keel table compile`; repeat for several feeds "
                 "(an image stands alone); - reads it from stdin")
      ->required()
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--overlap", flags->overlap,
                 "overlapping ranges in the feeds: an error, or the first or "
                 "last given wins")
      ->check(CLI::IsMember({"error", "first", "last"}));
  app.add_option("ADDRESS", flags->addresses,
                 "IPv4 or IPv6 addresses to look up; none: one a line on "
                 "stdin");
  app.footer(
      "Prints IP<TAB>ASN<TAB>COUNTRY<TAB>NAME a line (- for a missing field),\n"
      "IP<TAB>- when no range holds the address; exit 1 when an address was\n"
      "bad or the table could not be read.");
  return [flags] { return RunLookup(*flags); };
}

}  // namespace

KEEL_COMMAND("lookup",
             "look IP addresses up in range tables (TSV, CSV, gzip or image)",
             SetUpLookup);

}  // namespace keel::tools
