// TableReloader: the TableSet keel serve answers from, and its replacement
// on SIGHUP or POST /v1/reload without a restart.
//
//   auto tables = TableReloader::Load({"ip2asn.tsv"}, "pfx2as.dat");
//   std::shared_ptr<const TableSet> now = (*tables)->Current();  // a request
//   auto outcome = (*tables)->Reload(TableReloader::kWait);       // SIGHUP
//
// A reload builds new tables from the same paths beside the served ones
// (images are read into a copy again), then swaps them in at once: a
// request sees the old set or the new one, whole. The old set is freed when
// the last request that read it lets go (the reload waits for that, up to
// kDrainLimit, so that it is freed here rather than in a request), which
// hands its memory back to the kernel: the range table's block is unmapped
// and the prefix table's arena is reset and purged. Then every arena is
// purged (alloc::PurgeAll): parsing the files freed its buffers into the
// arena of whichever thread ran the reload, where they would stay resident
// until that arena's next activity, so that RSS comes back to what one set
// of tables costs (after the first load too). A reload that fails
// (a file missing or refused) changes nothing: the old set stays served,
// the error names the table and the file (and line), and it is counted.
// One reload runs at a time: kWait waits for a running one to end, kTry
// returns Aborted at once (no loader returns that code).
//
// Metrics (collector()): keel_table_rows, keel_table_bytes of the served
// set; keel_table_loaded_timestamp_seconds, keel_table_reloads_total and
// keel_table_reload_failures_total per configured table.
//
// Thread safety: Current from any number of threads; Reload from any
// thread (they run one at a time).
#ifndef KEEL_TOOLS_SERVER_TABLE_RELOADER_H_
#define KEEL_TOOLS_SERVER_TABLE_RELOADER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "diagnostics/table_collector.h"
#include "tools/server/table_set.h"

namespace keel::tools {

class TableReloader {
 public:
  // How long a reload waits for requests still reading the old set.
  static constexpr absl::Duration kDrainLimit = absl::Seconds(30);

  enum Waiting { kWait, kTry };

  struct Outcome {
    std::shared_ptr<const TableSet> tables;  // the set now served
    double load_seconds = 0;                 // reading and building the new set
    double drain_seconds = 0;   // waiting for the old set's last reader
    uint64_t purged_bytes = 0;  // resident bytes the purge released
  };

  // The first load; errors as Reload's.
  static absl::StatusOr<std::unique_ptr<TableReloader>> Load(
      std::vector<std::string> ip2asn, std::string pfx2as);

  // The set to answer one request from: hold it while the request reads it,
  // no longer (it keeps an old set alive after a reload).
  std::shared_ptr<const TableSet> Current() const;

  // Rebuilds every configured table and swaps them in (see above). Errors:
  // the table's loader's, prefixed by the table's name; Aborted when
  // `waiting` is kTry and a reload is running.
  absl::StatusOr<Outcome> Reload(Waiting waiting);

  const std::vector<std::string>& ip2asn() const { return ip2asn_; }
  const std::string& pfx2as() const { return pfx2as_; }
  std::shared_ptr<diagnostics::TableCollector> collector() const {
    return collector_;
  }

 private:
  TableReloader(std::vector<std::string> ip2asn, std::string pfx2as);
  // Builds a set from the paths; counts a failure unless `first`.
  absl::StatusOr<std::unique_ptr<TableSet>> Build(bool first);
  // Sets the loaded timestamps of `tables`, now served, and counts their
  // reload if `reloaded`.
  void Served(const TableSet& tables, bool reloaded);

  const std::vector<std::string> ip2asn_;
  const std::string pfx2as_;
  std::shared_ptr<diagnostics::TableCollector> collector_;

  // std mutexes rather than absl::Mutex: ThreadSanitizer sees through them
  // (Debian's Abseil is not built with its annotations).
  std::mutex reload_mu_;  // held by the running reload
  mutable std::shared_mutex mu_;
  std::shared_ptr<const TableSet> current_;  // guarded by mu_
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_TABLE_RELOADER_H_
