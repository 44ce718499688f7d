// keel: the command-line entry point. Finds the registered command whose
// path matches the most leading words and runs it with the rest.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tools/command.h"

namespace keel::tools {

std::vector<Command>& Commands() {
  static auto* commands = new std::vector<Command>;
  return *commands;
}

namespace {

int Usage(FILE* out) {
  std::fprintf(out, "usage: keel <command> [flags]\n\ncommands:\n");
  auto commands = Commands();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.path < b.path; });
  for (const Command& c : commands) {
    std::fprintf(out, "  %-18.*s %.*s\n", static_cast<int>(c.path.size()),
                 c.path.data(), static_cast<int>(c.summary.size()),
                 c.summary.data());
  }
  return out == stdout ? 0 : 2;
}

// How many leading words of `argv` the command's path takes, or 0.
size_t Matches(const Command& c, const std::vector<std::string>& words) {
  std::vector<absl::string_view> path =
      absl::StrSplit(absl::string_view(c.path.data(), c.path.size()), ' ');
  if (path.size() > words.size()) return 0;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != absl::string_view(words[i])) return 0;
  }
  return path.size();
}

#ifdef KEEL_FORWARD_TO
// Runs `argv` in the executable named `name` in this one's directory, for a
// command registered with KEEL_FORWARDED_COMMAND; returns only on failure.
[[gnu::cold]] int Forward(const char* name, char** argv) {
  std::string self(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", self.data(), self.size());
  std::string path = name;
  if (n > 0) {
    self.resize(static_cast<size_t>(n));
    path = self.substr(0, self.rfind('/') + 1) + name;
  }
  argv[0] = path.data();
  execv(path.c_str(), argv);
  std::fprintf(stderr, "keel: cannot run %s: %s\n", path.c_str(),
               std::strerror(errno));
  return 1;
}
#endif

}  // namespace
}  // namespace keel::tools

int main(int argc, char** argv) {
  using namespace keel::tools;
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) return Usage(stderr);
  if (words[0] == "help" || words[0] == "--help" || words[0] == "-h") {
    return Usage(stdout);
  }
  const Command* best = nullptr;
  size_t best_len = 0;
  for (const Command& c : Commands()) {
    if (size_t n = Matches(c, words); n > best_len) {
      best = &c;
      best_len = n;
    }
  }
  if (best == nullptr) {
    std::fprintf(stderr, "keel: unknown command \"%s\"\n", words[0].c_str());
    return Usage(stderr);
  }
#ifdef KEEL_FORWARD_TO
  if (best->run == nullptr) return Forward(KEEL_FORWARD_TO, argv);
#endif
  Args args(std::vector<std::string>(words.begin() + best_len, words.end()));
  return best->run(args);
}
