#include "tools/server/lookup_api.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/json.h"
#include "tools/server/json_string_array.h"

namespace keel::tools {
namespace {

std::string Message(const absl::Status& s) { return std::string(s.message()); }

void AppendNullable(std::string_view value, std::string* out) {
  if (value.empty()) {
    out->append("null");
  } else {
    out->append(JsonQuote(value));
  }
}

std::string Miss(const std::string& ip) {
  return JsonObject()
      .Add("ip", ip)
      .Add("error", "no range holds this address")
      .str();
}

// Appends the answer for `address` to `out`; false when no range holds it.
bool AppendAnswer(const core::RangeTable& ranges,
                  const core::IpAddress& address, std::string* out) {
  std::optional<core::RangeMatch> match = ranges.Lookup(address);
  if (!match) return false;
  out->append("{\"ip\":");
  out->append(JsonQuote(address.ToString()));
  absl::StrAppend(out, ",\"asn\":", match->record.asn, ",\"country\":");
  AppendNullable(match->record.country, out);
  out->append(",\"name\":");
  AppendNullable(match->record.name, out);
  out->append(",\"range\":[");
  out->append(JsonQuote(match->first.ToString()));
  out->push_back(',');
  out->append(JsonQuote(match->last.ToString()));
  out->append("]}");
  return true;
}

// A refused file (syntax, overlap, a corrupt image) is 400; one that cannot
// be read at all (missing, permissions, I/O) is the server's 500.
int ReloadErrorStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kAborted:  // another reload is running
      return 409;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kOutOfRange:
      return 400;
    default:
      return 500;
  }
}

std::string TablesJson(const TableReloader& reloader, const TableSet& tables) {
  std::string out = "[";
  auto add = [&out](const char* name, const std::vector<std::string>& files,
                    diagnostics::TableCollector::Figures figures,
                    absl::Time loaded) {
    if (out.size() > 1) out.push_back(',');
    std::string quoted;
    for (const std::string& file : files) {
      if (!quoted.empty()) quoted.push_back(',');
      quoted += JsonQuote(file);
    }
    out += JsonObject()
               .Add("table", name)
               .AddRaw("files", absl::StrCat("[", quoted, "]"))
               .Add("rows", figures.rows)
               .Add("bytes", figures.bytes)
               .Add("loaded", absl::ToDoubleSeconds(loaded - absl::UnixEpoch()))
               .str();
  };
  if (tables.ranges) {
    add("ip2asn", reloader.ip2asn(),
        diagnostics::TableCollector::FiguresOf(*tables.ranges),
        tables.ranges_loaded);
  }
  if (tables.prefixes) {
    add("pfx2as", {reloader.pfx2as()},
        diagnostics::TableCollector::FiguresOf(*tables.prefixes),
        tables.prefixes_loaded);
  }
  out.push_back(']');
  return out;
}

}  // namespace

LookupApi::LookupApi(std::unique_ptr<TableReloader> tables)
    : tables_(std::move(tables)) {}

void LookupApi::Register(HttpServer* server, size_t max_body_bytes) {
  server->Route("GET", "/v1/lookup",
                [this](const HttpRequest& r) { return LookupOne(r); });
  server->Route("POST", "/v1/lookup",
                [this](const HttpRequest& r) { return LookupMany(r); },
                {.max_body_bytes = max_body_bytes});
  server->Route("GET", "/v1/prefix",
                [this](const HttpRequest& r) { return Prefix(r); });
  server->Route("POST", "/v1/reload",
                [this](const HttpRequest& r) { return Reload(r); },
                {.kind = RequestKind::kWrite, .needs_auth = true});
}

HttpResponse LookupApi::LookupOne(const HttpRequest& request) const {
  const std::string* ip = request.Param("ip");
  if (ip == nullptr) return HttpResponse::Error(400, "missing parameter ip");
  auto address = core::IpAddress::Parse(*ip);
  if (!address.ok()) return HttpResponse::Error(400, Message(address.status()));
  std::shared_ptr<const TableSet> tables = tables_->Current();
  if (!tables->ranges) {
    return HttpResponse::Error(404, "no ip2asn table loaded");
  }
  HttpResponse response;
  response.body.reserve(256);
  if (!AppendAnswer(*tables->ranges, *address, &response.body)) {
    return HttpResponse::Json(404, Miss(address->ToString()));
  }
  return response;
}

HttpResponse LookupApi::LookupMany(const HttpRequest& request) const {
  auto ips = ParseJsonStringArray(request.body, kMaxBatch);
  if (!ips.ok()) return HttpResponse::Error(400, Message(ips.status()));
  std::vector<core::IpAddress> addresses;
  addresses.reserve(ips->size());
  for (size_t i = 0; i < ips->size(); ++i) {
    auto address = core::IpAddress::Parse((*ips)[i]);
    if (!address.ok()) {
      return HttpResponse::Error(
          400, absl::StrCat("element ", i, ": ", Message(address.status())));
    }
    addresses.push_back(*address);
  }
  std::shared_ptr<const TableSet> tables = tables_->Current();
  if (!tables->ranges) {
    return HttpResponse::Error(404, "no ip2asn table loaded");
  }
  HttpResponse response;
  response.body.reserve(addresses.size() * 128 + 2);
  response.body.push_back('[');
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) response.body.push_back(',');
    if (!AppendAnswer(*tables->ranges, addresses[i], &response.body)) {
      response.body += Miss(addresses[i].ToString());
    }
  }
  response.body.push_back(']');
  return response;
}

HttpResponse LookupApi::Prefix(const HttpRequest& request) const {
  const char* kinds[] = {"longest", "exact", "more", "less"};
  const char* kind = nullptr;
  const std::string* text = nullptr;
  for (const char* k : kinds) {
    if (const std::string* v = request.Param(k)) {
      if (kind != nullptr) {
        return HttpResponse::Error(
            400, "give exactly one of longest=, exact=, more=, less=");
      }
      kind = k;
      text = v;
    }
  }
  if (kind == nullptr) {
    return HttpResponse::Error(
        400, "missing parameter: one of longest=, exact=, more=, less=");
  }
  // longest= takes an address or a prefix; the others a prefix.
  std::string_view k = kind;
  bool is_address = k == "longest" && text->find('/') == std::string::npos;
  std::optional<core::IpAddress> address;
  std::optional<core::Prefix> prefix;
  if (is_address) {
    auto a = core::IpAddress::Parse(*text);
    if (!a.ok()) return HttpResponse::Error(400, Message(a.status()));
    address = *a;
  } else {
    auto p = core::Prefix::Parse(*text);
    if (!p.ok()) return HttpResponse::Error(400, Message(p.status()));
    prefix = *p;
  }
  std::shared_ptr<const TableSet> tables = tables_->Current();
  if (!tables->prefixes) {
    return HttpResponse::Error(404, "no pfx2as table loaded");
  }
  const core::PrefixTable<uint32_t>& prefixes = *tables->prefixes;

  std::string out = "[";
  size_t count = 0;
  auto add = [&out, &count](const core::Prefix& p, uint32_t value) {
    if (++count > kMaxPrefixes) return;
    if (out.size() > 1) out.push_back(',');
    absl::StrAppend(&out, "{\"prefix\":\"", p.ToString(),
                    "\",\"value\":", value, "}");
  };
  if (k == "longest") {
    auto match =
        address ? prefixes.Longest(*address) : prefixes.Longest(*prefix);
    if (match) add(match->prefix, match->value);
  } else if (k == "exact") {
    if (auto value = prefixes.Exact(*prefix)) add(*prefix, *value);
  } else if (k == "more") {
    prefixes.MoreSpecifics(*prefix, add);
  } else {
    prefixes.LessSpecifics(*prefix, add);
  }
  if (count > kMaxPrefixes) {
    return HttpResponse::Error(
        400, absl::StrCat(count, " prefixes match, over the limit of ",
                          kMaxPrefixes, "; ask about a narrower prefix"));
  }
  out.push_back(']');
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse LookupApi::Reload(const HttpRequest&) {
  auto outcome = tables_->Reload(TableReloader::kTry);
  if (!outcome.ok()) {
    return HttpResponse::Error(ReloadErrorStatus(outcome.status()),
                               Message(outcome.status()));
  }
  return HttpResponse::Json(
      200, JsonObject()
               .AddRaw("tables", TablesJson(*tables_, *outcome->tables))
               .Add("seconds", outcome->load_seconds)
               .Add("drain_seconds", outcome->drain_seconds)
               .Add("purged_bytes", outcome->purged_bytes)
               .str());
}

absl::StatusOr<std::unique_ptr<LookupApi>> LookupApi::Load(
    const std::vector<std::string>& ip2asn, const std::string& pfx2as) {
  auto tables = TableReloader::Load(ip2asn, pfx2as);
  if (!tables.ok()) return tables.status();
  return std::make_unique<LookupApi>(*std::move(tables));
}

}  // namespace keel::tools
