// LookupApi: keel serve's read-only lookup tables over HTTP.
//
//   GET  /v1/lookup?ip=IP   {"ip","asn","country","name","range":[first,last]}
//                           or 404 {"ip","error"} when no range holds it
//   POST /v1/lookup         a JSON array of up to 10,000 IPs -> an array of
//                           those answers (a miss is {"ip","error"})
//   GET  /v1/prefix?longest=IP|PREFIX  (or exact=, more=, less= PREFIX)
//                           -> [{"prefix","value"}, ...]
//
// Malformed addresses, prefixes and bodies answer 400 {"error": reason};
// in a batch the reason names the element. Missing fields (no country, no
// name) are null.
//
//   auto api = LookupApi::Load({"ip2asn-v4.tsv", "ip2asn-v6.tsv"},
//   "pfx2as.dat");
//   (*api)->Register(&http_server, /*max_body_bytes=*/1 << 20);
//
// Thread safety: the tables are immutable once loaded; handlers run
// concurrently.
#ifndef KEEL_TOOLS_SERVER_LOOKUP_API_H_
#define KEEL_TOOLS_SERVER_LOOKUP_API_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/prefixes/prefix_table.h"
#include "core/ranges/range_table.h"
#include "diagnostics/table_collector.h"
#include "tools/server/http_server.h"

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

  LookupApi(std::optional<core::RangeTable> ranges,
            std::unique_ptr<core::PrefixTable<uint32_t>> prefixes);

  // REQUIRES: before server->Start.
  void Register(HttpServer* server, size_t max_body_bytes);
  // keel_table_rows / keel_table_bytes for the loaded tables.
  std::shared_ptr<diagnostics::TableCollector> collector() const {
    return collector_;
  }

  HttpResponse LookupOne(const HttpRequest& request) const;
  HttpResponse LookupMany(const HttpRequest& request) const;
  HttpResponse Prefix(const HttpRequest& request) const;

 private:
  // Appends the answer for `text` to `out`; false when no range holds it.
  bool AppendAnswer(const core::IpAddress& address, std::string* out) const;

  std::optional<core::RangeTable> ranges_;
  std::unique_ptr<core::PrefixTable<uint32_t>> prefixes_;
  std::shared_ptr<diagnostics::TableCollector> collector_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_LOOKUP_API_H_
