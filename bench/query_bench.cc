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
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/args.h"
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

int RunQueryBench(Args& args) {
  const std::vector<std::string_view> valued = {
      "instances", "hours", "reps", "data", "queries", "script"};
  if (absl::Status s = args.Check(valued, {"json", "keep"}); !s.ok()) {
    return Fail(kName, s, 2);
  }
  if (!args.positional().empty()) {
    return Fail(kName,
                absl::InvalidArgumentError(absl::StrCat(
                    "unexpected argument \"", args.positional()[0], "\"")),
                2);
  }
  std::string self = SelfPath();
  if (self.empty()) {
    return Fail(kName, absl::InternalError("cannot read /proc/self/exe"));
  }
  std::string dir = self.substr(0, self.rfind('/') + 1);
  std::string script =
      args.Get("script", absl::StrCat(dir, "../bench/query_compare.sh"));
  if (access(script.c_str(), R_OK) != 0) {
    return Fail(kName, absl::NotFoundError(absl::StrCat(
                           script, ": ", std::strerror(errno),
                           " (give the script with --script PATH)")));
  }
  std::vector<std::string> words = {"bash", script, "--keel", self};
  for (std::string_view flag : valued) {
    if (flag != "script" && args.Has(flag)) {
      words.push_back(absl::StrCat("--", std::string(flag)));
      words.push_back(args.Get(flag));
    }
  }
  if (args.Has("json")) words.push_back("--json");
  if (args.Has("keep")) words.push_back("--keep");
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  execvp("bash", argv.data());
  return Fail(kName, absl::InternalError(absl::StrCat("cannot run bash: ",
                                                      std::strerror(errno))));
}

}  // namespace

KEEL_COMMAND("bench query",
             "PromQL query time of keel serve against Prometheus (JSON)",
             RunQueryBench);

}  // namespace keel::tools
