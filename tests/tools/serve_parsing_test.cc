// keel serve's request parsing: JSON arrays of IPs, Prometheus times and
// durations, the config file, and remote-write bodies.
#include <snappy.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/testing/temp_dir.h"
#include "tools/server/json_string_array.h"
#include "tools/server/prom_time.h"
#include "tools/server/remote_write.h"
#include "tools/server/serve_config.h"

namespace keel::tools {
namespace {

using testing::TempDir;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST_CASE("JSON string arrays parse with escapes and whitespace") {
  auto items = ParseJsonStringArray(
      " [ \"1.2.3.4\" "
      ",\"2001:db8::1\",\"a\\\"b\\\\\\/\\u00e9\\ud83d\\ude00\"]\n",
      10);
  REQUIRE(items.ok());
  REQUIRE(items->size() == 3);
  CHECK((*items)[0] == "1.2.3.4");
  CHECK((*items)[1] == "2001:db8::1");
  CHECK((*items)[2] == "a\"b\\/\xc3\xa9\xf0\x9f\x98\x80");
  auto empty = ParseJsonStringArray("[]", 10);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("malformed JSON arrays are refused with the offset") {
  struct Case {
    const char* text;
    const char* expected;
  };
  for (Case c : {Case{"", "expected '[' at offset 0"},
                 Case{"{\"ip\":1}", "expected '['"},
                 Case{"[1]", "expected a string at offset 1"},
                 Case{"[\"a\",]", "expected a string at offset 5"},
                 Case{"[\"a\" \"b\"]", "expected ',' or ']' at offset 5"},
                 Case{"[\"a\"", "found the end of the body"},
                 Case{"[\"a\"] x", "expected the end of the body at offset 6"},
                 Case{"[\"a", "'\"' closing the string"},
                 Case{"[\"\\x\"]", "a valid escape at offset 3"},
                 Case{"[\"\\u12g4\"]", "four hex digits"},
                 Case{"[\"\\udc00\"]", "high surrogate"},
                 Case{"[\"\\ud800x\"]", "low surrogate"},
                 Case{"[\"a\nb\"]", "control character"}}) {
    INFO(c.text);
    auto items = ParseJsonStringArray(c.text, 10);
    REQUIRE_FALSE(items.ok());
    CHECK_THAT(Message(items.status()), Catch::Contains(c.expected));
  }
  auto too_many = ParseJsonStringArray("[\"a\",\"b\",\"c\"]", 2);
  REQUIRE_FALSE(too_many.ok());
  CHECK_THAT(Message(too_many.status()), Catch::Contains("more than 2"));
}

TEST_CASE("Prometheus times: Unix seconds and RFC 3339") {
  CHECK(*ParsePromTime("1700000000") == 1700000000000);
  CHECK(*ParsePromTime("1700000000.5") == 1700000000500);
  CHECK(*ParsePromTime("1700000000.1234") == 1700000000123);
  CHECK(*ParsePromTime("-1.5") == -1500);
  CHECK(*ParsePromTime("2023-11-14T22:13:20Z") == 1700000000000);
  CHECK(*ParsePromTime("2023-11-14T22:13:20.25Z") == 1700000000250);
  CHECK(*ParsePromTime("2023-11-14T23:13:20+01:00") == 1700000000000);
  for (const char* bad : {"", "yesterday", "2023-11-14", "1e400", "nan"}) {
    INFO(bad);
    auto t = ParsePromTime(bad);
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(Message(t.status()), Catch::Contains("valid timestamp"));
  }
}

TEST_CASE("durations: Prometheus units and float seconds") {
  CHECK(*ParsePromDuration("15") == 15000);
  CHECK(*ParsePromDuration("0.25") == 250);
  CHECK(*ParsePromDuration("1m30s") == 90000);
  CHECK(*ParsePromDuration("250ms") == 250);
  CHECK(*ParseDurationWithUnits("2h") == 7200000);
  CHECK(*ParseDurationWithUnits("1d2h") == 93600000);
  CHECK(*ParseDurationWithUnits("1w") == 604800000);
  struct Case {
    const char* text;
    const char* expected;
  };
  for (Case c :
       {Case{"", "empty"}, Case{"5", "expected a unit"},
        Case{"5x", "expected a unit"}, Case{"m", "expected a number"},
        Case{"30s5m", "largest to smallest"}, Case{"0s", "must be positive"},
        Case{"9999999999999999y", "too long"}}) {
    INFO(c.text);
    auto d = ParseDurationWithUnits(c.text);
    REQUIRE_FALSE(d.ok());
    CHECK_THAT(Message(d.status()), Catch::Contains(c.expected));
  }
  CHECK_FALSE(ParsePromDuration("-1").ok());
  CHECK_FALSE(ParsePromDuration("0").ok());
}

TEST_CASE("config file: keys, comments, relative paths, flags override") {
  TempDir dir("serve_test");
  std::string path = dir.Write("keel.conf",
                               "# comment\n"
                               "listen = 127.0.0.1:1234\n"
                               "\n"
                               "ip2asn = a.tsv   # v4\n"
                               "ip2asn = /abs/b.tsv\n"
                               "snapshot-interval = 30s\n"
                               "chunk-window = 4h\n"
                               "retention-windows = 3\n");
  auto settings = ReadConfigFile(path);
  REQUIRE(settings.ok());
  auto config = ServeConfig::FromSettings(*settings);
  REQUIRE(config.ok());
  CHECK(config->listen == "127.0.0.1:1234");
  REQUIRE(config->ip2asn.size() == 2);
  CHECK(config->ip2asn[0] == dir.path() + "/a.tsv");
  CHECK(config->ip2asn[1] == "/abs/b.tsv");
  CHECK(config->snapshot_interval_ms == 30000);
  CHECK(config->chunk_window_ms == 4 * 3600000);
  CHECK(config->retention_windows == 3);

  MergeSettings({{"ip2asn", "c.tsv"}, {"listen", "127.0.0.1:9"}}, &*settings);
  config = ServeConfig::FromSettings(*settings);
  REQUIRE(config.ok());
  CHECK(config->listen == "127.0.0.1:9");
  REQUIRE(config->ip2asn.size() == 1);
  CHECK(config->ip2asn[0] == "c.tsv");
}

TEST_CASE("the defaults --help shows are ServeConfig's") {
  Settings defaults;
  for (const ServeKey& key : kServeKeyHelp) {
    if (!key.default_text.empty()) {
      defaults.emplace_back(std::string(key.name),
                            std::string(key.default_text));
    }
  }
  auto shown = ServeConfig::FromSettings(defaults);
  REQUIRE(shown.ok());
  const ServeConfig held;
  CHECK(shown->listen == held.listen);
  CHECK(shown->ip2asn == held.ip2asn);
  CHECK(shown->pfx2as == held.pfx2as);
  CHECK(shown->data_dir == held.data_dir);
  CHECK(shown->snapshot_interval_ms == held.snapshot_interval_ms);
  CHECK(shown->snapshot_keep == held.snapshot_keep);
  CHECK(shown->retention_windows == held.retention_windows);
  CHECK(shown->chunk_window_ms == held.chunk_window_ms);
  CHECK(shown->threads == held.threads);
  CHECK(shown->read_timeout_ms == held.read_timeout_ms);
  CHECK(shown->idle_timeout_ms == held.idle_timeout_ms);
  CHECK(shown->max_concurrent_writes == held.max_concurrent_writes);
  CHECK(shown->max_concurrent_queries == held.max_concurrent_queries);
  CHECK(shown->auth_token_file == held.auth_token_file);
  CHECK(shown->max_future_ms == held.max_future_ms);
  CHECK(shown->max_series == held.max_series);
  CHECK(shown->max_new_series_per_request == held.max_new_series_per_request);
  CHECK(shown->write_decoded_budget_bytes == held.write_decoded_budget_bytes);
  CHECK(shown->import_max_bytes == held.import_max_bytes);
  CHECK(shown->query_timeout_ms == held.query_timeout_ms);
  CHECK(shown->query_max_samples == held.query_max_samples);
  CHECK(shown->query_max_result_bytes == held.query_max_result_bytes);
  CHECK(shown->snapshot_max_series_loss == held.snapshot_max_series_loss);
  CHECK(shown->memory_limit_bytes == held.memory_limit_bytes);
  CHECK(shown->heap_profiling == held.heap_profiling);
  CHECK(shown->remote_write.empty());
  CHECK(shown->remote_write_queue_max_bytes ==
        held.remote_write_queue_max_bytes);
  CHECK(shown->self_scrape_interval_ms == held.self_scrape_interval_ms);
}

TEST_CASE("self-scrape-interval: 0 or at least 1s") {
  auto config = ServeConfig::FromSettings({{"self-scrape-interval", "15s"}});
  REQUIRE(config.ok());
  CHECK(config->self_scrape_interval_ms == 15000);
  config = ServeConfig::FromSettings({{"self-scrape-interval", "0"}});
  REQUIRE(config.ok());
  CHECK(config->self_scrape_interval_ms == 0);
  for (const char* bad : {"500ms", "soon", "-1s"}) {
    INFO(bad);
    config = ServeConfig::FromSettings({{"self-scrape-interval", bad}});
    REQUIRE_FALSE(config.ok());
    CHECK(Message(config.status()).starts_with("self-scrape-interval: "));
  }
}

TEST_CASE("remote-write: a URL and its options; bad ones named") {
  TempDir dir("serve_test");
  auto settings = ReadConfigFile(dir.Write(
      "keel.conf",
      "data-dir = data\n"
      "remote-write = http://vminsert:8480/insert/0/prometheus/api/v1/write\n"
      "remote-write = http://mimir:9009/api/v1/push name=mimir shards=8 "
      "max-samples-per-send=5000 batch-send-deadline=1s min-backoff=50ms "
      "max-backoff=10s timeout=10s bearer-token-file=mimir.token "
      "header=X-Scope-OrgID:tenant-1\n"
      "remote-write-queue-max-bytes = 64MiB\n"));
  REQUIRE(settings.ok());
  auto config = ServeConfig::FromSettings(*settings);
  REQUIRE(config.ok());
  REQUIRE(config->remote_write.size() == 2);
  const RemoteWriteDestination& vm = config->remote_write[0];
  CHECK(vm.url == "http://vminsert:8480/insert/0/prometheus/api/v1/write");
  CHECK(vm.name == "vminsert:8480");
  CHECK(vm.shards == 4);
  CHECK(vm.max_samples_per_send == 10000);
  CHECK(vm.batch_send_deadline_ms == 5000);
  const RemoteWriteDestination& mimir = config->remote_write[1];
  CHECK(mimir.name == "mimir");
  CHECK(mimir.shards == 8);
  CHECK(mimir.max_samples_per_send == 5000);
  CHECK(mimir.batch_send_deadline_ms == 1000);
  CHECK(mimir.min_backoff_ms == 50);
  CHECK(mimir.max_backoff_ms == 10000);
  CHECK(mimir.timeout_ms == 10000);
  CHECK(mimir.bearer_token_file == dir.path() + "/mimir.token");
  CHECK(mimir.headers == std::vector<std::string>{"X-Scope-OrgID: tenant-1"});
  CHECK(config->remote_write_queue_max_bytes == (uint64_t{64} << 20));

  struct Case {
    const char* value;
    const char* expected;
  };
  for (Case c :
       {Case{"https://x/api/v1/write", "https is not supported"},
        Case{"ftp://x", "expected http://HOST[:PORT]/PATH"},
        Case{"http://x/w shards=0", "expected a whole number in 1..64"},
        Case{"http://x/w colour=red", "unknown option: \"colour=red\""},
        Case{"http://x/w timeout", "expected KEY=VALUE"},
        Case{"http://x/w timeout=soon", "expected a duration"},
        Case{"http://x/w name=a/b", "a name is letters"},
        Case{"http://x/w header=NoColon", "expected header=Name:value"},
        Case{"http://x/w min-backoff=10s max-backoff=1s", "min-backoff"},
        Case{"http://x/w basic-auth-username=u", "basic auth needs"}}) {
    INFO(c.value);
    auto bad = ServeConfig::FromSettings(
        {{"data-dir", "/d"}, {"remote-write", c.value}});
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(Message(bad.status()), Catch::Contains(c.expected));
  }
  auto twice = ServeConfig::FromSettings({{"data-dir", "/d"},
                                          {"remote-write", "http://a/w"},
                                          {"remote-write", "http://a/v"}});
  REQUIRE_FALSE(twice.ok());
  CHECK_THAT(Message(twice.status()), Catch::Contains("a second destination"));
  auto no_dir = ServeConfig::FromSettings({{"remote-write", "http://a/w"}});
  REQUIRE_FALSE(no_dir.ok());
  CHECK_THAT(Message(no_dir.status()), Catch::Contains("needs data-dir"));
}

TEST_CASE("memory-limit and heap-profiling parse and refuse nonsense") {
  auto config = ServeConfig::FromSettings(
      {{"memory-limit", "2GiB"}, {"heap-profiling", "true"}});
  REQUIRE(config.ok());
  CHECK(config->memory_limit_bytes == (uint64_t{2} << 30));
  CHECK(config->heap_profiling);
  auto tiny = ServeConfig::FromSettings({{"memory-limit", "1MiB"}});
  REQUIRE_FALSE(tiny.ok());
  CHECK_THAT(Message(tiny.status()), Catch::Contains("memory-limit"));
  CHECK_FALSE(ServeConfig::FromSettings({{"heap-profiling", "yes"}}).ok());
}

TEST_CASE("config errors name the file and line or the key") {
  TempDir dir("serve_test");
  auto no_eq = ReadConfigFile(dir.Write("a.conf", "listen = x\nbogus\n"));
  REQUIRE_FALSE(no_eq.ok());
  CHECK_THAT(Message(no_eq.status()), Catch::Contains("a.conf:2: expected"));
  auto unknown = ReadConfigFile(dir.Write("b.conf", "colour = red\n"));
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(Message(unknown.status()),
             Catch::Contains("b.conf:1: unknown key \"colour\""));
  CHECK_FALSE(ReadConfigFile(dir.path() + "/missing.conf").ok());
  // The wrong file is refused at the first long line, never read whole.
  auto endless = ReadConfigFile("/dev/zero");
  REQUIRE_FALSE(endless.ok());
  CHECK_THAT(Message(endless.status()), Catch::Contains("/dev/zero:1: line"));
  auto bad_duration =
      ServeConfig::FromSettings({{"snapshot-interval", "5 minutes"}});
  REQUIRE_FALSE(bad_duration.ok());
  CHECK_THAT(Message(bad_duration.status()),
             Catch::Contains("snapshot-interval: cannot parse \"5 minutes\""));
  auto bad_count = ServeConfig::FromSettings({{"retention-windows", "0"}});
  REQUIRE_FALSE(bad_count.ok());
  CHECK_THAT(Message(bad_count.status()), Catch::Contains("retention-windows"));
}

TEST_CASE("listen addresses: a bare port is loopback; IPv6 in brackets") {
  struct Case {
    const char* text;
    const char* expected;
  };
  for (Case c :
       {Case{"9464", "127.0.0.1:9464"}, Case{"0", "127.0.0.1:0"},
        Case{"127.0.0.1:0", "127.0.0.1:0"},
        Case{"0.0.0.0:9464", "0.0.0.0:9464"}, Case{"[::]:9464", "[::]:9464"},
        Case{"[::1]:0", "[::1]:0"}, Case{"localhost:80", "localhost:80"}}) {
    INFO(c.text);
    auto listen = ParseListenAddress(c.text);
    REQUIRE(listen.ok());
    CHECK(*listen == c.expected);
  }
  for (const char* bad :
       {"", "70000", "+9464", "9464s", "::1:9464", "[::1:9464", "[nope]:1",
        "1.2.3.999:80", "host:", "a,b:1", "127.0.0.1:80,9000", "host:x"}) {
    INFO(bad);
    auto listen = ParseListenAddress(bad);
    REQUIRE_FALSE(listen.ok());
    CHECK_THAT(Message(listen.status()), Catch::StartsWith("listen: "));
  }
  auto config = ServeConfig::FromSettings({{"listen", "8080"}});
  REQUIRE(config.ok());
  CHECK(config->listen == "127.0.0.1:8080");
}

TEST_CASE("auth token file: trailing newline stripped; bad files named") {
  TempDir dir("serve_test");
  auto token = ReadAuthToken(dir.Write("t1", "abc.DEF-123\n"));
  REQUIRE(token.ok());
  CHECK(*token == "abc.DEF-123");
  token = ReadAuthToken(dir.Write("t2", "abc\r\n"));
  REQUIRE(token.ok());
  CHECK(*token == "abc");
  for (const std::string& bad :
       {dir.Write("empty", ""), dir.Write("newline", "\n"),
        dir.Write("space", "a b\n"), dir.Write("two", "a\nb\n"),
        dir.Write("long", std::string(5000, 'a')), dir.path() + "/missing"}) {
    INFO(bad);
    auto failed = ReadAuthToken(bad);
    REQUIRE_FALSE(failed.ok());
    CHECK_THAT(Message(failed.status()), Catch::Contains(bad));
  }
}

std::string Compress(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

TEST_CASE("remote-write bodies decode, and bad ones say why") {
  prompb::WriteRequest request;
  auto* series = request.add_timeseries();
  auto* label = series->add_labels();
  label->set_name("__name__");
  label->set_value("up");
  auto* sample = series->add_samples();
  sample->set_value(1.5);
  sample->set_timestamp(1700000000000);
  std::string raw = request.SerializeAsString();

  auto decoded = DecodeRemoteWrite(Compress(raw), RemoteWriteLimits{});
  REQUIRE(decoded.ok());
  REQUIRE(decoded->timeseries_size() == 1);
  CHECK(decoded->timeseries(0).labels(0).value() == "up");
  CHECK(decoded->timeseries(0).samples(0).timestamp() == 1700000000000);

  auto over_body = DecodeRemoteWrite(Compress(raw), {.max_body_bytes = 4});
  REQUIRE_FALSE(over_body.ok());
  CHECK_THAT(Message(over_body.status()), Catch::Contains("exceeds the limit"));

  auto over_decoded =
      DecodeRemoteWrite(Compress(std::string(1000, 'x')),
                        {.max_body_bytes = 1 << 20, .max_decoded_bytes = 999});
  REQUIRE_FALSE(over_decoded.ok());
  CHECK_THAT(Message(over_decoded.status()),
             Catch::Contains("decodes to 1000 bytes, over the limit of 999"));

  // A length header claiming 4 GiB: refused before any allocation.
  std::string bomb = "\xff\xff\xff\xff\x0f";
  auto huge = DecodeRemoteWrite(bomb, RemoteWriteLimits{});
  REQUIRE_FALSE(huge.ok());
  CHECK_THAT(Message(huge.status()), Catch::Contains("over the limit"));

  std::string corrupt = Compress(raw);
  corrupt.resize(corrupt.size() - 3);
  auto truncated = DecodeRemoteWrite(corrupt, RemoteWriteLimits{});
  REQUIRE_FALSE(truncated.ok());
  CHECK_THAT(Message(truncated.status()), Catch::Contains("snappy"));

  auto garbage =
      DecodeRemoteWrite(Compress("\xff\xff\xff\xff\xff"), RemoteWriteLimits{});
  REQUIRE_FALSE(garbage.ok());
  CHECK_THAT(Message(garbage.status()), Catch::Contains("not a protobuf"));

  auto plain = DecodeRemoteWrite("", RemoteWriteLimits{});
  REQUIRE_FALSE(plain.ok());
  CHECK_THAT(Message(plain.status()), Catch::Contains("snappy"));
}

}  // namespace
}  // namespace keel::tools
