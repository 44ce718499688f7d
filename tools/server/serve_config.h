// ServeConfig: what `keel serve` runs with, from a config file and flags.
//
// The file has one `key = value` a line; keys are the flag names without
// "--"; `#` starts a comment; blank lines are skipped; a repeatable key
// (ip2asn, remote-write) may appear on several lines. Relative paths in a file
// are taken relative to the file's directory. A flag given on the command line
// replaces every value the file gave for that key.
//
//   # keel serve configuration
//   listen = 127.0.0.1:9464
//   ip2asn = ip2asn-v4.tsv
//   ip2asn = ip2asn-v6.tsv
//   pfx2as = pfx2as-v4.tsv
//   data-dir = /var/lib/keel
//   snapshot-interval = 5m
//   retention-windows = 8
//   chunk-window = 2h
//
//   auto settings = ReadConfigFile("keel.conf");   // file, line: errors
//   MergeSettings(flag_settings, &*settings);
//   absl::StatusOr<ServeConfig> config = ServeConfig::FromSettings(*settings);
//
// Thread safety: plain values and pure functions.
#ifndef KEEL_TOOLS_SERVER_SERVE_CONFIG_H_
#define KEEL_TOOLS_SERVER_SERVE_CONFIG_H_

#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace keel::tools {

// (key, value) in the order given.
using Settings = std::vector<std::pair<std::string, std::string>>;

// A key `keel serve` takes, as a flag name, with the default that
// ServeConfig holds (as the file would give it; serve_parsing_test checks
// they agree) and what it sets, for --help.
struct ServeKey {
  std::string_view name;
  std::string_view default_text;  // "" for none
  std::string_view help;
};

inline constexpr ServeKey kServeKeyHelp[] = {
    {"listen", "127.0.0.1:9464",
     "address to serve HTTP on: PORT (loopback), IPV4:PORT, [IPV6]:PORT or "
     "HOST:PORT; port 0 picks one"},
    {"ip2asn", "",
     "an ip2asn feed (TSV or CSV, gzip too) or table image for /v1/lookup; "
     "repeat for several feeds"},
    {"pfx2as", "", "a prefix-to-origin file for /v1/prefix"},
    {"data-dir", "",
     "directory for series snapshots, restored at start (none: no "
     "snapshots)"},
    {"snapshot-interval", "5m", "time between snapshots"},
    {"snapshot-keep", "2", "snapshots kept in data-dir (1..1000)"},
    {"retention-windows", "8", "chunk windows of samples kept (1..1000000)"},
    {"chunk-window", "2h", "time span of a chunk window (at least 1s)"},
    {"threads", "512", "HTTP worker threads, one per open connection"},
    {"read-timeout", "30s", "time for a request's headers and body to arrive"},
    {"idle-timeout", "5s", "an idle keep-alive connection is closed after"},
    {"max-concurrent-writes", "16",
     "remote writes, imports and snapshots at once"},
    {"max-concurrent-queries", "20", "queries at once"},
    {"auth-token-file", "",
     "file holding the bearer token that writes, reloads and snapshots "
     "need (none: no token)"},
    {"max-future", "10m", "samples further ahead of now are rejected"},
    {"max-series", "2000000", "series the store holds at most"},
    {"max-new-series-per-request", "50000", "new series one write may create"},
    {"write-decoded-budget", "256MiB",
     "decoded bytes of all writes in flight (B, KB, MB, GB, KiB, MiB, GiB)"},
    {"import-max-bytes", "32MiB",
     "largest import body, received and decompressed"},
    {"query-timeout", "2m", "a query running longer is stopped"},
    {"query-max-samples", "50000000", "samples one query may load"},
    {"query-max-result-bytes", "256MiB", "largest query answer"},
    {"snapshot-max-series-loss", "0.5",
     "a snapshot holding fewer than (1 - this) of the last one's series "
     "does not replace it silently"},
    {"memory-limit", "0",
     "memory budget of the whole process (B, KB, MB, GB, KiB, MiB, GiB; 0: "
     "none): above 90% keel purges and defragments, at the limit writes get "
     "429 and costly queries 422"},
    {"heap-profiling", "false",
     "true: jemalloc heap profiling is ready (inactive until "
     "GET /debug/pprof/heap asks for a profile)"},
    {"remote-write", "",
     "forward every accepted sample to this Prometheus remote-write URL "
     "(http://), then options as KEY=VALUE words: name, shards, "
     "max-samples-per-send, batch-send-deadline, min-backoff, max-backoff, "
     "timeout, bearer-token-file, basic-auth-username, "
     "basic-auth-password-file, header=Name:value; repeat for several "
     "destinations; needs data-dir"},
    {"remote-write-queue-max-bytes", "1GiB",
     "on-disk queue of samples not yet forwarded; writes get 429 when full"},
    {"self-scrape-interval", "0",
     "store keel's own /metrics every interval (at least 1s; 0: never) as "
     "job=\"keel\": queryable, and forwarded with remote-write"}};

// Every key `keel serve` takes, as flag names.
inline constexpr auto kServeKeys = [] {
  std::array<std::string_view, std::size(kServeKeyHelp)> keys{};
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = kServeKeyHelp[i].name;
  return keys;
}();

// One remote-write destination: `remote-write = URL [KEY=VALUE ...]`,
// KEYs as the members (name, shards, max-samples-per-send,
// batch-send-deadline, min-backoff, max-backoff, timeout,
// bearer-token-file, basic-auth-username, basic-auth-password-file, and
// header=Name:value, repeatable), the defaults Prometheus' queue_config's but
// for max_samples_per_send (README, "Forwarding to a cluster").
struct RemoteWriteDestination {
  std::string url;      // http://HOST[:PORT]/PATH
  std::string name;     // the remote_name label and its cursor file; HOST:PORT
  uint32_t shards = 4;  // parallel senders, each a part of the series
  // Prometheus' 2000 leaves a local VictoriaMetrics' per-request cost
  // setting the rate; larger requests cost both sides less a sample.
  uint32_t max_samples_per_send = 10000;
  int64_t batch_send_deadline_ms = 5000;  // a batch waits no longer to fill
  int64_t min_backoff_ms = 30;            // retry waits double from this...
  int64_t max_backoff_ms = 5000;          // ... to this
  int64_t timeout_ms = 30000;             // of one send and its answer
  std::string bearer_token_file;
  std::string basic_auth_username;
  std::string basic_auth_password_file;
  std::vector<std::string> headers;  // "Name: value"
};

// Parses a remote-write value: the URL, then KEY=VALUE words. Errors name
// the word and why.
absl::StatusOr<RemoteWriteDestination> ParseRemoteWrite(std::string_view text);

struct ServeConfig {
  std::string listen = "127.0.0.1:9464";  // as ParseListenAddress returns
  std::vector<std::string> ip2asn;        // range tables, loaded in order
  std::string pfx2as;                     // "" for no prefix table
  std::string data_dir;                   // "" for no snapshots
  int64_t snapshot_interval_ms = 5 * 60 * 1000;
  uint32_t snapshot_keep = 2;
  uint32_t retention_windows = 8;
  int64_t chunk_window_ms = 2 * 3600 * 1000;
  // HTTP worker threads, one per open connection: enough that a few hundred
  // slow or idle clients (each cut off by the timeouts below) leave threads
  // for everyone else. An idle thread costs a few tens of KiB resident.
  int threads = 512;

  // HTTP limits. A request's headers and body must arrive within
  // read_timeout_ms of its start; a keep-alive connection with no request
  // for idle_timeout_ms is closed.
  int64_t read_timeout_ms = 30 * 1000;
  int64_t idle_timeout_ms = 5 * 1000;
  uint32_t max_concurrent_writes = 16;   // remote-write, import, snapshot
  uint32_t max_concurrent_queries = 20;  // as Prometheus' query.max-concurrency
  std::string auth_token_file;  // "" for none: writes, reloads, snapshots

  // Write limits.
  int64_t max_future_ms = 10 * 60 * 1000;  // samples further ahead: rejected
  uint64_t max_series = 2'000'000;
  uint64_t max_new_series_per_request = 50'000;
  uint64_t write_decoded_budget_bytes = 256u << 20;  // all writes at once
  // POST /api/v1/import/prometheus bodies, received and decompressed.
  uint64_t import_max_bytes = 32u << 20;

  // Query limits (Prometheus' --query.timeout, --query.max-samples).
  int64_t query_timeout_ms = 2 * 60 * 1000;
  uint64_t query_max_samples = 50'000'000;
  uint64_t query_max_result_bytes = 256u << 20;

  // A snapshot of a store that holds fewer than (1 - this) of the series of
  // the last snapshot does not replace it silently (see SnapshotManager).
  double snapshot_max_series_loss = 0.5;

  // Memory budget of the whole process, in resident bytes; 0 for none.
  uint64_t memory_limit_bytes = 0;
  // Heap profiles on demand (GET /debug/pprof/heap).
  bool heap_profiling = false;

  // Where accepted samples are forwarded (none: nowhere), and the bound of
  // their on-disk queue in data_dir.
  std::vector<RemoteWriteDestination> remote_write;
  uint64_t remote_write_queue_max_bytes = uint64_t{1} << 30;

  // How often keel stores its own /metrics (0: never); see self_scrape.h.
  int64_t self_scrape_interval_ms = 0;

  static absl::StatusOr<ServeConfig> FromSettings(const Settings& settings);
};

// The listen address for civetweb: "PORT" means 127.0.0.1:PORT (loopback
// unless an address is given); "IPV4:PORT", "[IPV6]:PORT" ("[::]:9464" for
// every IPv6 address) and "HOST:PORT" stay as they are. Port 0 picks one.
absl::StatusOr<std::string> ParseListenAddress(std::string_view text);

// The bearer token in `path`: its content less one trailing newline. An
// unreadable, empty or over-long file, or one with characters a header
// cannot carry, is an error naming the file.
absl::StatusOr<std::string> ReadAuthToken(const std::string& path);

// "256MiB", "1GB", "4096" (bytes): B, KB/MB/GB (10^3), KiB/MiB/GiB (2^10).
absl::StatusOr<uint64_t> ParseByteSize(std::string_view text);

// Reads a config file; errors name the file and line.
absl::StatusOr<Settings> ReadConfigFile(const std::string& path);

// Replaces, key by key, the values in `base` by those in `overrides`.
void MergeSettings(const Settings& overrides, Settings* base);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_SERVE_CONFIG_H_
