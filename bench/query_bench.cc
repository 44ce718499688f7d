// keel bench query [--json] [--instances N] [--hours H] [--reps R]
//   [--data DIR] [--queries FILE] [--keep] [--script PATH]
//
// PromQL query time of keel serve against a real Prometheus on the same
// data, in the same run: runs bench/query_compare.sh (which starts both on
// loopback, loads them and times the queries through one HTTP client; see
// there) with this keel as the server. The script is found beside the
// source tree the binary was built in (build/keel -> bench/), or at
// --script PATH.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/command.h"

namespace keel::tools {
namespace {

constexpr char kName[] = "bench query";

std::string SelfPath() {
  std::string self(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", self.data(), self.size());
  if (n <= 0 || static_cast<size_t>(n) >= self.size()) return "";
  self.resize(static_cast<size_t>(n));
  return self;
}

// The script's flags that this command passes on, as given.
struct QueryBenchFlags {
  std::string instances = "24", hours = "6", reps = "7";
  std::string data, queries;
  std::string script;
  bool json = false;
  bool keep = false;
};

int RunQueryBench(const QueryBenchFlags& flags) {
  std::string self = SelfPath();
  if (self.empty()) {
    return Fail(kName, absl::InternalError("cannot read /proc/self/exe"));
  }
  std::string dir = self.substr(0, self.rfind('/') + 1);
  std::string script = !flags.script.empty()
                           ? flags.script
                           : absl::StrCat(dir, "../bench/query_compare.sh");
  if (access(script.c_str(), R_OK) != 0) {
    return Fail(kName, absl::NotFoundError(absl::StrCat(
                           script, ": ", std::strerror(errno),
                           " (give the script with --script PATH)")));
  }
  std::vector<std::string> words = {"bash", script, "--keel", self};
  for (const auto& [flag, value] : {std::pair<const char*, const std::string&>{
                                        "--instances", flags.instances},
                                    {"--hours", flags.hours},
                                    {"--reps", flags.reps},
                                    {"--data", flags.data},
                                    {"--queries", flags.queries}}) {
    if (!value.empty()) {
      words.push_back(flag);
      words.push_back(value);
    }
  }
  if (flags.json) words.push_back("--json");
  if (flags.keep) words.push_back("--keep");
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  execvp("bash", argv.data());
  return Fail(kName, absl::InternalError(absl::StrCat("cannot run bash: ",
                                                      std::strerror(errno))));
}

CommandRun SetUpQueryBench(CLI::App& app) {
  auto flags = std::make_shared<QueryBenchFlags>();
  app.add_option("--instances", flags->instances,
                 "generated scrape targets, ~130 series each");
  app.add_option("--hours", flags->hours, "hours of samples");
  app.add_option("--reps", flags->reps, "timed runs of each query");
  app.add_option("--data", flags->data,
                 "keep the generated data and Prometheus' blocks here and "
                 "reuse them (default: a temporary directory)");
  app.add_option("--queries", flags->queries,
                 "a file of PromQL queries, one a line (default: the "
                 "script's list)");
  app.add_option("--script", flags->script,
                 "bench/query_compare.sh (default: beside the source tree "
                 "the binary was built in)");
  app.add_flag("--json", flags->json, "one JSON object instead of a table");
  app.add_flag("--keep", flags->keep, "keep the work directory");
  app.footer("Runs bench/query_compare.sh with this keel as the server.");
  return [flags] { return RunQueryBench(*flags); };
}

}  // namespace

KEEL_COMMAND("bench query",
             "PromQL query time of keel serve against Prometheus (JSON)",
             SetUpQueryBench);

}  // namespace keel::tools
