// LookupApi: keel serve's lookup tables over HTTP.
//
//   GET  /v1/lookup?ip=IP   {"ip","asn","country","name","range":[first,last]}
//                           or 404 {"ip","error"} when no range holds it
//   POST /v1/lookup         a JSON array of up to 10,000 IPs -> an array of
//                           those answers (a miss is {"ip","error"})
//   GET  /v1/prefix?longest=IP|PREFIX  (or exact=, more=, less= PREFIX)
//                           -> [{"prefix","value"}, ...]
//   POST /v1/reload         rebuilds the tables from their files and swaps
//                           them in (table_reloader.h): 200 {"tables":[...],
//                           "seconds","drain_seconds","purged_bytes"}; 400
//                           when a file is refused, 500 when one cannot be
//                           read (the old tables stay served), 409 while
//                           another reload runs
//
// Malformed addresses, prefixes and bodies answer 400 {"error": reason};
// in a batch the reason names the element. Missing fields (no country, no
// name) are null.
//
//   auto api = LookupApi::Load({"ip2asn-v4.tsv", "ip2asn-v6.tsv"},
//   "pfx2as.dat");
//   (*api)->Register(&http_server, /*max_body_bytes=*/1 << 20);
//
// Thread safety: handlers run concurrently, reloads included; each request
// answers from one version of the tables.
#ifndef KEEL_TOOLS_SERVER_LOOKUP_API_H_
#define KEEL_TOOLS_SERVER_LOOKUP_API_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ranges/range_table.h"
#include "diagnostics/table_collector.h"
#include "tools/server/http_server.h"
#include "tools/server/table_reloader.h"

namespace keel::tools {

class LookupApi {
 public:
  static constexpr size_t kMaxBatch = 10000;
  // A more= or less= answer is refused past this many prefixes.
  static constexpr size_t kMaxPrefixes = 100000;

  // Builds one RangeTable from the ip2asn files (TSV, CSV, gzip; or one
  // image, copied into memory so that the file may change), and the
  // PrefixTable from the pfx2as file. Either may be absent (empty). Logs
  // what it loaded.
  static absl::StatusOr<std::unique_ptr<LookupApi>> Load(
      const std::vector<std::string>& ip2asn, const std::string& pfx2as);

  explicit LookupApi(std::unique_ptr<TableReloader> tables);

  // REQUIRES: before server->Start. POST /v1/reload is a write that needs
  // the server's token, if it has one.
  void Register(HttpServer* server, size_t max_body_bytes);
  // The served tables, for reloads on a signal.
  TableReloader& tables() { return *tables_; }
  // keel_table_* for the served tables and their reloads. REQUIRES: it
  // does not outlive this LookupApi.
  std::shared_ptr<diagnostics::TableCollector> collector() const {
    return tables_->collector();
  }

  HttpResponse LookupOne(const HttpRequest& request) const;
  HttpResponse LookupMany(const HttpRequest& request) const;
  HttpResponse Prefix(const HttpRequest& request) const;
  HttpResponse Reload(const HttpRequest& request);

 private:
  std::unique_ptr<TableReloader> tables_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_LOOKUP_API_H_
