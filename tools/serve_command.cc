// keel serve: the long-running HTTP server (tools/server/serve_app.h) with
// the ip2asn and prefix tables, time series from Prometheus remote write,
// snapshots in a data directory, and /metrics. Runs until SIGTERM or SIGINT,
// then takes a final snapshot and exits 0 (1 if that snapshot failed).
#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/command.h"
#include "tools/server/event_log.h"
#include "tools/server/serve_app.h"
#include "tools/server/serve_config.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "serve";

int RunServe(Args& args) {
  std::vector<std::string_view> valued = {"config"};
  valued.insert(valued.end(), std::begin(kServeKeys), std::end(kServeKeys));
  if (auto s = args.Check(valued); !s.ok()) {
    return Fail(kName, s, 2);
  }
  if (!args.positional().empty()) {
    return Fail(kName,
                absl::InvalidArgumentError(absl::StrCat(
                    "unexpected argument \"", args.positional()[0], "\"")),
                2);
  }
  Settings settings;
  if (args.Has("config")) {
    auto from_file = ReadConfigFile(args.Get("config"));
    if (!from_file.ok()) return Fail(kName, from_file.status(), 2);
    settings = *std::move(from_file);
  }
  Settings flags;
  for (std::string_view key : kServeKeys) {
    for (std::string& value : args.GetAll(key)) {
      flags.emplace_back(std::string(key), std::move(value));
    }
  }
  MergeSettings(flags, &settings);
  auto config = ServeConfig::FromSettings(settings);
  if (!config.ok()) return Fail(kName, config.status(), 2);

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below receives them.
  // A shell starting us in the background may have set them to be ignored,
  // and sigwait never sees an ignored signal.
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-answer is not fatal

  auto app = ServeApp::Start(*config);
  if (!app.ok()) return Fail(kName, app.status(), 1);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  LogEvent(
      absl::StrCat("received SIG", sigabbrev_np(signal_number), ": stopping"));
  absl::Status stopped = (*app)->Stop();
  if (!stopped.ok()) return Fail(kName, stopped, 1);
  LogEvent("stopped");
  return 0;
}

}  // namespace

KEEL_COMMAND("serve",
             "HTTP server: IP and prefix lookups, Prometheus remote write and "
             "queries, /metrics, snapshots",
             RunServe);

}  // namespace keel::tools
