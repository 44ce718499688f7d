// The keel command's subcommands. Each lives in its own *_command.cc and
// registers itself with KEEL_COMMAND, so adding one touches no other file.
//
//   int RunProbe(keel::tools::Args& args);
//   KEEL_COMMAND("alloc probe", "allocate, free and purge in a fresh arena",
//                RunProbe);
//
// A command returns the process exit code: 0 success, 1 a failure it
// reported, 2 a usage error.
#ifndef KEEL_TOOLS_COMMAND_H_
#define KEEL_TOOLS_COMMAND_H_

#include <string_view>
#include <vector>

#include "tools/args.h"

namespace keel::tools {

struct Command {
  std::string_view path;  // the words that select it: "bench ranges"
  std::string_view summary;
  // Null for a command that another executable runs: main() execs the one
  // named by KEEL_FORWARD_TO, beside its own, with the same arguments.
  int (*run)(Args& args);
};

// Every registered command, in registration order (static initialization,
// so unspecified across files): the usage sorts its copy by path.
std::vector<Command>& Commands();

struct CommandRegistration {
  explicit CommandRegistration(Command command) {
    Commands().push_back(command);
  }
};

}  // namespace keel::tools

#define KEEL_COMMAND_CONCAT_INNER(a, b) a##b
#define KEEL_COMMAND_CONCAT(a, b) KEEL_COMMAND_CONCAT_INNER(a, b)
#define KEEL_COMMAND(path, summary, run)                               \
  static const ::keel::tools::CommandRegistration KEEL_COMMAND_CONCAT( \
      keel_command_, __LINE__)({path, summary, run})
// A command of the executable KEEL_FORWARD_TO, listed in this one's usage.
#define KEEL_FORWARDED_COMMAND(path, summary) \
  KEEL_COMMAND(path, summary, nullptr)

#endif  // KEEL_TOOLS_COMMAND_H_
