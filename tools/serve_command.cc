// keel serve: the long-running HTTP server (tools/server/serve_app.h) with
// the ip2asn and prefix tables, time series from Prometheus remote write,
// snapshots in a data directory, and /metrics. SIGHUP reloads the lookup
// tables. Runs until SIGTERM or SIGINT,
// then takes a final snapshot and exits 0 (1 if that snapshot failed).
// With heap-profiling, a process that did not start with jemalloc's
// profiling first re-runs itself with it (see HeapProfileApi).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/io/errno_status.h"
#include "tools/command.h"
#include "tools/server/event_log.h"
#include "tools/server/heap_profile_api.h"
#include "tools/server/serve_app.h"
#include "tools/server/serve_config.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "serve";

// A key whose default is false is a switch: given alone (`--heap-profiling`)
// it means true, and it takes `true` or `false` too.
bool IsSwitch(const ServeKey& key) { return key.default_text == "false"; }

struct ServeFlags {
  std::string config;
  // The option of each of kServeKeys, in its order: its results() are the
  // values given (the last one; every one for a repeatable key).
  std::array<const CLI::Option*, std::size(kServeKeys)> keys{};
};

// For heap-profiling: returns once jemalloc's profiling is ready in this
// process; when it is off, re-runs this process (same pid, arguments and
// environment, MALLOC_CONF extended) and returns only if that fails.
// jemalloc reads MALLOC_CONF once, before main, so nothing less than a new
// image can switch profiling on.
absl::Status ReadyHeapProfiling() {
  switch (CurrentHeapProfiling()) {
    case HeapProfiling::kReady:
      return absl::OkStatus();
    case HeapProfiling::kUnsupported:
      return absl::FailedPreconditionError(
          "heap-profiling: this keel's jemalloc was built without profiling "
          "(config.prof)");
    case HeapProfiling::kOff:
      break;
  }
  const char* given = std::getenv("MALLOC_CONF");
  const std::string current = given != nullptr ? given : "";
  if (current.starts_with(kHeapProfilingMallocConf)) {
    // Already re-run, and profiling is still off: MALLOC_CONF says prof:false.
    return absl::FailedPreconditionError(absl::StrCat(
        "heap-profiling: MALLOC_CONF=", current, " keeps profiling off"));
  }
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(file)),
                      std::istreambuf_iterator<char>());
  if (cmdline.empty()) {
    return absl::InternalError(
        "heap-profiling: /proc/self/cmdline unreadable: cannot re-run keel "
        "serve");
  }
  cmdline.pop_back();  // every argument ends with a NUL
  std::vector<std::string> words = absl::StrSplit(cmdline, '\0');
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::string conf = MallocConfForHeapProfiling(current);
  LogEvent(absl::StrCat("heap-profiling: restarting with MALLOC_CONF=", conf));
  setenv("MALLOC_CONF", conf.c_str(), 1);
  execv("/proc/self/exe", argv.data());
  return core::ErrnoStatus(errno, "/proc/self/exe", "execv");
}

int RunServe(const ServeFlags& flags) {
  Settings settings;
  if (!flags.config.empty()) {
    auto from_file = ReadConfigFile(flags.config);
    if (!from_file.ok()) return UsageError(kName, from_file.status());
    settings = *std::move(from_file);
  }
  Settings given;
  for (size_t i = 0; i < kServeKeys.size(); ++i) {
    for (const std::string& value : flags.keys[i]->results()) {
      given.emplace_back(std::string(kServeKeys[i]),
                         value.empty() && IsSwitch(kServeKeyHelp[i])
                             ? std::string("true")
                             : value);
    }
  }
  MergeSettings(given, &settings);
  auto config = ServeConfig::FromSettings(settings);
  if (!config.ok()) return UsageError(kName, config.status());
  if (config->heap_profiling) {
    if (absl::Status s = ReadyHeapProfiling(); !s.ok())
      return Fail(kName, s, 1);
  }

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below receives them.
  // A shell starting us in the background may have set them to be ignored,
  // and sigwait never sees an ignored signal.
  // SIGHUP reloads the lookup tables (systemctl reload) and waits on.
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-answer is not fatal

  auto app = ServeApp::Start(*config);
  if (!app.ok()) return Fail(kName, app.status(), 1);
  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) == 0 &&
         signal_number == SIGHUP) {
    LogEvent("received SIGHUP: reloading the lookup tables");
    (*app)->ReloadTables().IgnoreError();  // logged and counted
  }
  LogEvent(
      absl::StrCat("received SIG", sigabbrev_np(signal_number), ": stopping"));
  absl::Status stopped = (*app)->Stop();
  if (!stopped.ok()) return Fail(kName, stopped, 1);
  LogEvent("stopped");
  return 0;
}

CommandRun SetUpServe(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  app.add_option("--config", flags->config,
                 "a file of `key = value` lines, keys named as these flags; "
                 "a flag given replaces the file's values for its key");
  for (size_t i = 0; i < kServeKeys.size(); ++i) {
    const ServeKey& key = kServeKeyHelp[i];
    CLI::Option* option = app.add_option("--" + std::string(key.name))
                              ->description(std::string(key.help));
    if (IsSwitch(key)) {
      // No default_str: CLI11 gives it to a switch given alone.
      option->expected(0, 1)->type_name("[true|false]");
    } else {
      option->type_name("VALUE")->default_str(std::string(key.default_text));
    }
    if (key.name == "ip2asn" || key.name == "remote-write") {  // repeatable
      option->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
          ->allow_extra_args(false);
    }
    flags->keys[i] = option;
  }
  app.footer(
      "Runs until SIGTERM or SIGINT, then takes a final snapshot (with\n"
      "--data-dir). In a config file `#` starts a comment, relative paths are\n"
      "taken from the file's directory, and ip2asn and remote-write may be\n"
      "given on several lines (or flags). Durations: 500ms, 30s, 5m, 2h, 1d.");
  return [flags] { return RunServe(*flags); };
}

}  // namespace

KEEL_COMMAND("serve",
             "HTTP server: IP and prefix lookups, Prometheus remote write and "
             "queries, /metrics, snapshots",
             SetUpServe);

}  // namespace keel::tools
