// The keel command's subcommands, on CLI11: each lives in its own
// *_command.cc, states its flags on a CLI::App (so that `keel COMMAND --help`,
// the man pages and the parser share one definition) and registers itself
// with KEEL_COMMAND, so adding one touches no other file.
//
//   struct ProbeFlags {
//     uint64_t size = 100;
//   };
//   int RunProbe(const ProbeFlags& flags);
//   CommandRun SetUpProbe(CLI::App& app) {
//     auto flags = std::make_shared<ProbeFlags>();
//     app.add_option("--size", flags->size, "bytes per object");
//     return [flags] { return RunProbe(*flags); };
//   }
//   KEEL_COMMAND("alloc probe", "allocate, free and purge in a fresh arena",
//                SetUpProbe);
//
// A command returns the process exit code: 0 success, 1 a failure it
// reported, 2 a usage error (a bad flag is one: RunCommandLine reports it
// naming the command's --help).
//
// Thread safety: none needed; the registry is filled by static
// initialization and read by one thread.
#ifndef KEEL_TOOLS_COMMAND_H_
#define KEEL_TOOLS_COMMAND_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace keel::tools {

// Runs a command whose flags have been parsed into what its setup bound.
using CommandRun = std::function<int()>;

struct Command {
  std::string_view path;  // the words that select it: "bench ranges"
  std::string_view summary;
  // States the command's flags on `app` and returns what runs it. Null for
  // a command that another executable runs: main() execs the one named by
  // KEEL_FORWARD_TO, beside its own, with the same arguments.
  CommandRun (*set_up)(CLI::App& app);
};

// Every registered command, in registration order (static initialization,
// so unspecified across files): the help sorts by path.
std::vector<Command>& Commands();

struct CommandRegistration {
  explicit CommandRegistration(Command command) {
    Commands().push_back(command);
  }
};

// The words after the program name, with `keel help WORDS...` read as
// `keel WORDS... --help`.
std::vector<std::string> CommandWords(int argc, char** argv);

// The registered command that the leading `words` select when it is a
// forwarded one (set_up null), else null.
const Command* ForwardedCommand(const std::vector<std::string>& words);

// Parses `words` against every registered command and runs the one they
// select. `keel --help`, `keel COMMAND --help` and `keel --version` print to
// stdout and return 0; a bad flag, value or command prints why and the
// --help to run on stderr and returns 2.
int RunCommandLine(std::vector<std::string> words);

// Prints "keel <command>: <status message>" to stderr and returns `code`.
int Fail(std::string_view command, const absl::Status& status, int code = 1);

// Fail(command, status, 2) plus the --help that lists the command's flags.
int UsageError(std::string_view command, const absl::Status& status);

// The path a command opens for a file argument: "-" is standard input
// (/dev/stdin, so that errors name it and a redirected regular file can be
// mapped like any other), anything else itself.
std::string InputPath(const std::string& argument);

}  // namespace keel::tools

#define KEEL_COMMAND_CONCAT_INNER(a, b) a##b
#define KEEL_COMMAND_CONCAT(a, b) KEEL_COMMAND_CONCAT_INNER(a, b)
#define KEEL_COMMAND(path, summary, set_up)                            \
  static const ::keel::tools::CommandRegistration KEEL_COMMAND_CONCAT( \
      keel_command_, __LINE__)({path, summary, set_up})
// A command of the executable KEEL_FORWARD_TO, listed in this one's help.
#define KEEL_FORWARDED_COMMAND(path, summary) \
  KEEL_COMMAND(path, summary, nullptr)

#endif  // KEEL_TOOLS_COMMAND_H_
