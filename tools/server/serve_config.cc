#include "tools/server/serve_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/io/line_reader.h"
#include "tools/server/prom_time.h"

namespace keel::tools {
namespace {

bool IsKey(std::string_view key) {
  return std::find(std::begin(kServeKeys), std::end(kServeKeys), key) !=
         std::end(kServeKeys);
}

bool IsPathKey(std::string_view key) {
  return key == "ip2asn" || key == "pfx2as" || key == "data-dir" ||
         key == "auth-token-file";
}

[[gnu::cold]] absl::Status BadValue(std::string_view key,
                                    const std::string& value,
                                    std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(key), ": ", std::string(why), ": \"", value, "\""));
}

absl::StatusOr<uint32_t> Count(std::string_view key, const std::string& value,
                               uint32_t min, uint32_t max) {
  uint32_t n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < min || n > max) {
    return BadValue(
        key, value,
        absl::StrCat("expected a whole number in ", min, "..", max));
  }
  return n;
}

absl::StatusOr<uint64_t> Count64(std::string_view key, const std::string& value,
                                 uint64_t min, uint64_t max) {
  uint64_t n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < min || n > max) {
    return BadValue(
        key, value,
        absl::StrCat("expected a whole number in ", min, "..", max));
  }
  return n;
}

absl::StatusOr<int64_t> Duration(std::string_view key,
                                 const std::string& value) {
  auto ms = ParseDurationWithUnits(value);
  if (!ms.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(key), ": ", ms.status().message()));
  }
  return *ms;
}

// A remote-write value with its *-file options' relative paths taken from
// `dir`.
std::string ResolveOptionPaths(const std::string& value,
                               const std::filesystem::path& dir) {
  std::vector<std::string> words =
      absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  for (std::string& word : words) {
    size_t eq = word.find('=');
    if (eq == std::string::npos || !word.substr(0, eq).ends_with("-file")) {
      continue;
    }
    std::filesystem::path file(word.substr(eq + 1));
    if (!file.empty() && file.is_relative()) {
      word = word.substr(0, eq + 1) + (dir / file).lexically_normal().string();
    }
  }
  return absl::StrJoin(words, " ");
}

}  // namespace

absl::StatusOr<RemoteWriteDestination> ParseRemoteWrite(std::string_view text) {
  std::vector<std::string> words =
      absl::StrSplit(absl::string_view(text.data(), text.size()),
                     absl::ByAnyChar(" \t"), absl::SkipEmpty());
  auto bad = [&](std::string_view word, std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "remote-write: ", std::string(why), ": \"", std::string(word), "\""));
  };
  if (words.empty()) return bad("", "expected a URL");
  RemoteWriteDestination d;
  d.url = words[0];
  if (d.url.starts_with("https://")) {
    return bad(d.url,
               "https is not supported: forward to a local TLS proxy "
               "(e.g. stunnel, nginx) over http");
  }
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = std::string_view(d.url).substr(
      d.url.starts_with(kScheme) ? kScheme.size() : 0);
  const std::string_view hostport = rest.substr(0, rest.find('/'));
  if (!d.url.starts_with(kScheme) || hostport.empty() ||
      hostport.find_first_of("@?#") != std::string_view::npos) {
    return bad(d.url, "expected http://HOST[:PORT]/PATH");
  }
  d.name = std::string(hostport);
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& word = words[i];
    const size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == word.size()) {
      return bad(word, "expected KEY=VALUE after the URL");
    }
    const std::string key = word.substr(0, eq);
    const std::string value = word.substr(eq + 1);
    auto whole = [&](uint32_t min, uint32_t max) -> absl::StatusOr<uint32_t> {
      uint32_t n = 0;
      if (!absl::SimpleAtoi(value, &n) || n < min || n > max) {
        return bad(word,
                   absl::StrCat("expected a whole number in ", min, "..", max));
      }
      return n;
    };
    if (key == "name") {
      if (value.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") !=
              std::string::npos ||
          value.front() == '.') {
        return bad(word, "a name is letters, digits and _.:- (not first .)");
      }
      d.name = value;
    } else if (key == "shards" || key == "max-samples-per-send") {
      auto n = key == "shards" ? whole(1, 64) : whole(1, 1'000'000);
      if (!n.ok()) return n.status();
      (key == "shards" ? d.shards : d.max_samples_per_send) = *n;
    } else if (key == "batch-send-deadline" || key == "min-backoff" ||
               key == "max-backoff" || key == "timeout") {
      auto ms = ParseDurationWithUnits(value);
      if (!ms.ok() || *ms <= 0) return bad(word, "expected a duration");
      (key == "batch-send-deadline" ? d.batch_send_deadline_ms
       : key == "min-backoff"       ? d.min_backoff_ms
       : key == "max-backoff"       ? d.max_backoff_ms
                                    : d.timeout_ms) = *ms;
    } else if (key == "bearer-token-file") {
      d.bearer_token_file = value;
    } else if (key == "basic-auth-username") {
      d.basic_auth_username = value;
    } else if (key == "basic-auth-password-file") {
      d.basic_auth_password_file = value;
    } else if (key == "header") {
      const size_t colon = value.find(':');
      if (colon == std::string::npos || colon == 0 ||
          value.find_first_of("\r\n") != std::string::npos) {
        return bad(word, "expected header=Name:value");
      }
      d.headers.push_back(
          absl::StrCat(value.substr(0, colon), ": ", value.substr(colon + 1)));
    } else {
      return bad(word, "unknown option");
    }
  }
  if (d.min_backoff_ms > d.max_backoff_ms) {
    return bad(text, "min-backoff is longer than max-backoff");
  }
  if (!d.bearer_token_file.empty() && !d.basic_auth_username.empty()) {
    return bad(text, "bearer-token-file and basic-auth-* exclude each other");
  }
  if (d.basic_auth_username.empty() != d.basic_auth_password_file.empty()) {
    return bad(text,
               "basic auth needs basic-auth-username and "
               "basic-auth-password-file");
  }
  return d;
}

absl::StatusOr<std::string> ParseListenAddress(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen: ", std::string(why), ": \"", std::string(text),
        "\" (expected PORT, IPV4:PORT, [IPV6]:PORT or HOST:PORT)"));
  };
  size_t colon = text.rfind(':');
  std::string_view host =
      colon == std::string_view::npos ? "" : text.substr(0, colon);
  std::string_view port =
      colon == std::string_view::npos ? text : text.substr(colon + 1);
  uint32_t number = 0;
  if (port.empty() ||
      port.find_first_not_of("0123456789") != std::string_view::npos ||
      port.size() > 5 ||
      !absl::SimpleAtoi(absl::string_view(port.data(), port.size()), &number) ||
      number > 65535) {
    return bad("bad port");
  }
  if (colon == std::string_view::npos) {
    return absl::StrCat("127.0.0.1:", number);
  }
  char address[sizeof(in6_addr)];
  if (host.starts_with('[')) {
    std::string inner(host.substr(1));
    if (!inner.ends_with(']')) return bad("unclosed [");
    inner.pop_back();
    if (inet_pton(AF_INET6, inner.c_str(), address) != 1) {
      return bad("bad IPv6 address");
    }
  } else if (host.empty() ||
             host.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                 std::string_view::npos) {
    return bad(host.find(':') != std::string_view::npos
                   ? "an IPv6 address needs brackets"
                   : "bad host");
  } else if (host.find_first_not_of("0123456789.") == std::string_view::npos &&
             inet_pton(AF_INET, std::string(host).c_str(), address) != 1) {
    return bad("bad IPv4 address");
  }
  return absl::StrCat(std::string(host), ":", number);
}

absl::StatusOr<std::string> ReadAuthToken(const std::string& path) {
  constexpr size_t kMaxToken = 4096;
  std::ifstream in(path, std::ios::binary);
  std::string token(kMaxToken + 2, '\0');
  if (in) {
    in.read(token.data(), static_cast<std::streamsize>(token.size()));
    token.resize(static_cast<size_t>(in.gcount()));
  }
  if (!in && !in.eof()) {
    return absl::NotFoundError(
        absl::StrCat("auth-token-file: cannot read ", path));
  }
  if (token.ends_with('\n')) token.pop_back();
  if (token.ends_with('\r')) token.pop_back();
  if (token.empty() || token.size() > kMaxToken) {
    return absl::InvalidArgumentError(absl::StrCat("auth-token-file: ", path,
                                                   " must hold a token of 1..",
                                                   kMaxToken, " characters"));
  }
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] < 0x21 || token[i] > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat("auth-token-file: ", path, ": byte ", i,
                       " is not a visible ASCII character"));
    }
  }
  return token;
}

absl::StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"KiB", 1ull << 10},   {"MiB", 1ull << 20},      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},   {"KB", 1000ull},          {"MB", 1000000ull},
      {"GB", 1000000000ull}, {"TB", 1000000000000ull}, {"B", 1}};
  std::string_view digits = text;
  uint64_t scale = 1;
  for (const auto& [unit, factor] : kUnits) {
    if (text.size() > unit.size() && text.ends_with(unit)) {
      digits = text.substr(0, text.size() - unit.size());
      scale = factor;
      break;
    }
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &n) ||
      n > UINT64_MAX / scale) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid size \"", std::string(text),
        "\" (expected bytes, optionally with B, KB, MB, GB, KiB, MiB, GiB)"));
  }
  return n * scale;
}

absl::StatusOr<Settings> ReadConfigFile(const std::string& path) {
  // A configuration is a few dozen short lines; anything much larger is
  // the wrong file, refused before it costs memory.
  constexpr size_t kMaxLineBytes = 64 << 10;
  constexpr int64_t kMaxLines = 100'000;
  auto reader = core::LineReader::Open(
      path, {.max_line_bytes = kMaxLineBytes, .buffer_bytes = 4096});
  if (!reader.ok()) return reader.status();
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  Settings settings;
  std::string_view line;
  while (reader->Next(&line)) {
    const int64_t number = reader->line_number();
    if (number > kMaxLines) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": more than ", kMaxLines, " lines: not a configuration"));
    }
    std::string_view text = line;
    text = text.substr(0, text.find('#'));
    absl::string_view stripped =
        absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size()));
    if (stripped.empty()) continue;
    size_t eq = stripped.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": expected `key = value`, found \"",
                       std::string(stripped), "\""));
    }
    std::string key(absl::StripAsciiWhitespace(stripped.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(stripped.substr(eq + 1)));
    if (!IsKey(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": unknown key \"", key, "\""));
    }
    if (value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": ", key, " has no value"));
    }
    if (IsPathKey(key) && std::filesystem::path(value).is_relative()) {
      value = (dir / value).lexically_normal().string();
    }
    if (key == "remote-write") value = ResolveOptionPaths(value, dir);
    settings.emplace_back(std::move(key), std::move(value));
  }
  if (!reader->status().ok()) return reader->status();
  return settings;
}

void MergeSettings(const Settings& overrides, Settings* base) {
  for (const auto& setting : overrides) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const std::string& key = setting.first;
    std::erase_if(*base, [&](const auto& s) { return s.first == key; });
  }
  base->insert(base->end(), overrides.begin(), overrides.end());
}

absl::StatusOr<ServeConfig> ServeConfig::FromSettings(
    const Settings& settings) {
  ServeConfig c;
  for (const auto& [key, value] : settings) {
    if (key == "listen") {
      auto listen = ParseListenAddress(value);
      if (!listen.ok()) return listen.status();
      c.listen = *std::move(listen);
    } else if (key == "ip2asn") {
      c.ip2asn.push_back(value);
    } else if (key == "pfx2as") {
      c.pfx2as = value;
    } else if (key == "data-dir") {
      c.data_dir = value;
    } else if (key == "snapshot-interval" || key == "chunk-window") {
      auto ms = Duration(key, value);
      if (!ms.ok()) return ms.status();
      (key == "chunk-window" ? c.chunk_window_ms : c.snapshot_interval_ms) =
          *ms;
    } else if (key == "snapshot-keep") {
      auto n = Count(key, value, 1, 1000);
      if (!n.ok()) return n.status();
      c.snapshot_keep = *n;
    } else if (key == "retention-windows") {
      auto n = Count(key, value, 1, 1000000);
      if (!n.ok()) return n.status();
      c.retention_windows = *n;
    } else if (key == "threads") {
      auto n = Count(key, value, 1, 4096);
      if (!n.ok()) return n.status();
      c.threads = static_cast<int>(*n);
    } else if (key == "read-timeout" || key == "idle-timeout" ||
               key == "max-future" || key == "query-timeout") {
      auto ms = Duration(key, value);
      if (!ms.ok()) return ms.status();
      (key == "read-timeout"   ? c.read_timeout_ms
       : key == "idle-timeout" ? c.idle_timeout_ms
       : key == "max-future"   ? c.max_future_ms
                               : c.query_timeout_ms) = *ms;
    } else if (key == "max-concurrent-writes" ||
               key == "max-concurrent-queries") {
      auto n = Count(key, value, 1, 4096);
      if (!n.ok()) return n.status();
      (key == "max-concurrent-writes" ? c.max_concurrent_writes
                                      : c.max_concurrent_queries) = *n;
    } else if (key == "auth-token-file") {
      c.auth_token_file = value;
    } else if (key == "max-series" || key == "max-new-series-per-request" ||
               key == "query-max-samples") {
      auto n = Count64(key, value, 1, uint64_t{1} << 40);
      if (!n.ok()) return n.status();
      (key == "max-series"                   ? c.max_series
       : key == "max-new-series-per-request" ? c.max_new_series_per_request
                                             : c.query_max_samples) = *n;
    } else if (key == "write-decoded-budget" ||
               key == "query-max-result-bytes" || key == "import-max-bytes") {
      auto n = ParseByteSize(value);
      if (!n.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(key, ": ", n.status().message()));
      }
      if (*n < 4096) return BadValue(key, value, "must be at least 4096 bytes");
      (key == "write-decoded-budget" ? c.write_decoded_budget_bytes
       : key == "import-max-bytes"   ? c.import_max_bytes
                                     : c.query_max_result_bytes) = *n;
    } else if (key == "snapshot-max-series-loss") {
      double f = 0;
      if (!absl::SimpleAtod(value, &f) || !(f >= 0 && f <= 1)) {
        return BadValue(key, value, "expected a fraction in 0..1");
      }
      c.snapshot_max_series_loss = f;
    } else if (key == "memory-limit") {
      auto n = ParseByteSize(value);
      if (!n.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(key, ": ", n.status().message()));
      }
      if (*n != 0 && *n < (uint64_t{16} << 20)) {
        return BadValue(key, value, "must be 0 (none) or at least 16MiB");
      }
      c.memory_limit_bytes = *n;
    } else if (key == "heap-profiling") {
      if (value != "true" && value != "false") {
        return BadValue(key, value, "expected true or false");
      }
      c.heap_profiling = value == "true";
    } else if (key == "remote-write") {
      auto destination = ParseRemoteWrite(value);
      if (!destination.ok()) return destination.status();
      for (const RemoteWriteDestination& other : c.remote_write) {
        if (other.name == destination->name) {
          return BadValue(key, value,
                          absl::StrCat("a second destination named \"",
                                       other.name, "\" (give name=...)"));
        }
      }
      c.remote_write.push_back(*std::move(destination));
    } else if (key == "remote-write-queue-max-bytes") {
      auto n = ParseByteSize(value);
      if (!n.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(key, ": ", n.status().message()));
      }
      if (*n < (uint64_t{1} << 20)) {
        return BadValue(key, value, "must be at least 1MiB");
      }
      c.remote_write_queue_max_bytes = *n;
    } else if (key == "self-scrape-interval") {
      auto ms = value == "0" ? 0 : Duration(key, value);
      if (!ms.ok()) return ms.status();
      if (*ms != 0 && *ms < 1000) {
        return BadValue(key, value, "must be 0 (never) or at least 1s");
      }
      c.self_scrape_interval_ms = *ms;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown key ", key));
    }
  }
  if (!c.remote_write.empty() && c.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "remote-write: needs data-dir, which holds the queue of samples not "
        "yet forwarded");
  }
  if (c.chunk_window_ms < 1000) {
    return BadValue("chunk-window", absl::StrCat(c.chunk_window_ms, "ms"),
                    "must be at least 1s");
  }
  return c;
}

}  // namespace keel::tools
