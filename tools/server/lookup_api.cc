#include "tools/server/lookup_api.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/prefixes/prefix_loader.h"
#include "core/ranges/range_table_builder.h"
#include "tools/json.h"
#include "tools/server/event_log.h"
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

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string Miss(const std::string& ip) {
  return JsonObject()
      .Add("ip", ip)
      .Add("error", "no range holds this address")
      .str();
}

}  // namespace

LookupApi::LookupApi(std::optional<core::RangeTable> ranges,
                     std::unique_ptr<core::PrefixTable<uint32_t>> prefixes)
    : ranges_(std::move(ranges)),
      prefixes_(std::move(prefixes)),
      collector_(std::make_shared<diagnostics::TableCollector>()) {
  if (ranges_) collector_->Add("ip2asn", &*ranges_);
  if (prefixes_) collector_->Add("pfx2as", prefixes_.get());
}

void LookupApi::Register(HttpServer* server, size_t max_body_bytes) {
  server->Route("GET", "/v1/lookup",
                [this](const HttpRequest& r) { return LookupOne(r); });
  server->Route("POST", "/v1/lookup",
                [this](const HttpRequest& r) { return LookupMany(r); },
                {.max_body_bytes = max_body_bytes});
  server->Route("GET", "/v1/prefix",
                [this](const HttpRequest& r) { return Prefix(r); });
}

bool LookupApi::AppendAnswer(const core::IpAddress& address,
                             std::string* out) const {
  std::optional<core::RangeMatch> match = ranges_->Lookup(address);
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

HttpResponse LookupApi::LookupOne(const HttpRequest& request) const {
  const std::string* ip = request.Param("ip");
  if (ip == nullptr) return HttpResponse::Error(400, "missing parameter ip");
  auto address = core::IpAddress::Parse(*ip);
  if (!address.ok()) return HttpResponse::Error(400, Message(address.status()));
  if (!ranges_) return HttpResponse::Error(404, "no ip2asn table loaded");
  HttpResponse response;
  response.body.reserve(256);
  if (!AppendAnswer(*address, &response.body)) {
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
  if (!ranges_) return HttpResponse::Error(404, "no ip2asn table loaded");
  HttpResponse response;
  response.body.reserve(addresses.size() * 128 + 2);
  response.body.push_back('[');
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) response.body.push_back(',');
    if (!AppendAnswer(addresses[i], &response.body)) {
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
  if (!prefixes_) return HttpResponse::Error(404, "no pfx2as table loaded");

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
        address ? prefixes_->Longest(*address) : prefixes_->Longest(*prefix);
    if (match) add(match->prefix, match->value);
  } else if (k == "exact") {
    if (auto value = prefixes_->Exact(*prefix)) add(*prefix, *value);
  } else if (k == "more") {
    prefixes_->MoreSpecifics(*prefix, add);
  } else {
    prefixes_->LessSpecifics(*prefix, add);
  }
  if (count > kMaxPrefixes) {
    return HttpResponse::Error(
        400, absl::StrCat(count, " prefixes match, over the limit of ",
                          kMaxPrefixes, "; ask about a narrower prefix"));
  }
  out.push_back(']');
  return HttpResponse::Json(200, std::move(out));
}

absl::StatusOr<std::unique_ptr<LookupApi>> LookupApi::Load(
    const std::vector<std::string>& ip2asn, const std::string& pfx2as) {
  std::optional<core::RangeTable> ranges;
  if (!ip2asn.empty()) {
    auto start = std::chrono::steady_clock::now();
    // Copied: the server outlives any promise that the file stays as it
    // is, and a mapped image truncated or rewritten in place kills it.
    auto table = core::LoadRangeTable(ip2asn, core::OverlapPolicy::kError,
                                      core::ImageHolding::kCopied);
    if (!table.ok()) return table.status();
    ranges.emplace(*std::move(table));
    LogEvent(absl::StrFormat(
        "ip2asn: %d IPv4 and %d IPv6 rows, %d records, %d bytes%s from %s in "
        "%.3f s",
        ranges->v4_rows(), ranges->v6_rows(), ranges->records(),
        ranges->table_bytes(), ranges->is_mapped() ? " (mapped)" : "",
        absl::StrJoin(ip2asn, ", "), SecondsSince(start)));
  } else {
    LogEvent("no --ip2asn: /v1/lookup answers 404");
  }
  std::unique_ptr<core::PrefixTable<uint32_t>> prefixes;
  if (!pfx2as.empty()) {
    auto start = std::chrono::steady_clock::now();
    prefixes = std::make_unique<core::PrefixTable<uint32_t>>();
    auto stats = core::LoadPrefixTable(pfx2as, {}, *prefixes);
    if (!stats.ok()) return stats.status();
    LogEvent(absl::StrFormat("pfx2as: %d prefixes, %d bytes from %s in %.3f s",
                             prefixes->size(), prefixes->memory_bytes(), pfx2as,
                             SecondsSince(start)));
  } else {
    LogEvent("no --pfx2as: /v1/prefix answers 404");
  }
  return std::make_unique<LookupApi>(std::move(ranges), std::move(prefixes));
}

}  // namespace keel::tools
