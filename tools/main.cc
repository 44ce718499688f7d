// keel: the command-line entry point. Runs the registered command that the
// leading words select (tools/command.h), or execs the executable that runs
// it when it is a forwarded one.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tools/command.h"

namespace keel::tools {
namespace {

#ifdef KEEL_FORWARD_TO
// Runs `words` in the executable named `name` in this one's directory, for
// a command registered with KEEL_FORWARDED_COMMAND; returns only on failure.
[[gnu::cold]] int Forward(const char* name, std::vector<std::string> words) {
  std::string self(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", self.data(), self.size());
  std::string path = name;
  if (n > 0) {
    self.resize(static_cast<size_t>(n));
    path = self.substr(0, self.rfind('/') + 1) + name;
  }
  std::vector<char*> argv = {path.data()};
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  execv(path.c_str(), argv.data());
  std::fprintf(stderr, "keel: cannot run %s: %s\n", path.c_str(),
               std::strerror(errno));
  return 1;
}
#endif

}  // namespace
}  // namespace keel::tools

int main(int argc, char** argv) {
  using namespace keel::tools;
  std::vector<std::string> words = CommandWords(argc, argv);
#ifdef KEEL_FORWARD_TO
  if (ForwardedCommand(words) != nullptr) {
    return Forward(KEEL_FORWARD_TO, std::move(words));
  }
#endif
  return RunCommandLine(std::move(words));
}
