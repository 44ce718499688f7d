#include "tools/command.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "keel_build_info.h"

namespace keel::tools {

std::vector<Command>& Commands() {
  static auto* commands = new std::vector<Command>;
  return *commands;
}

namespace {

constexpr char kDescription[] =
    "keel: IP lookup tables, an in-memory Prometheus-like series store with "
    "PromQL, and jemalloc arena diagnostics.";

// "keel 0.1.0 (revision 1a2b3c4)": the CMake project's VERSION and the
// source tree's git revision (cmake/KeelBuildInfo.cmake).
std::string VersionText() {
  return absl::StrCat("keel ", kVersion, " (revision ", kRevision, ")");
}

std::vector<absl::string_view> PathWords(const Command& c) {
  return absl::StrSplit(absl::string_view(c.path.data(), c.path.size()), ' ');
}

// "keel bench ranges" for the subcommand `ranges` of `bench`.
std::string FullName(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app != nullptr; app = app->get_parent()) {
    names.push_back(app->get_name());
  }
  std::reverse(names.begin(), names.end());
  return absl::StrJoin(names, " ");
}

// The subcommand the parse selected last: the command, or a group (or the
// top) when the words stopped short of one.
const CLI::App* Selected(const CLI::App& app) {
  const CLI::App* at = &app;
  for (auto subs = at->get_subcommands(); !subs.empty();
       subs = at->get_subcommands()) {
    at = subs.front();
  }
  return at;
}

// A default shown as "[]" (an empty repeatable flag) says nothing, nor does
// one of a required flag.
void HideEmptyDefaults(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_default_str() == "[]" || option->get_required()) {
      option->default_str("");
    }
  }
}

// The group subcommand `word` of `parent` ("bench" of keel), made on first
// use and added to `groups`.
CLI::App* Group(CLI::App& parent, const std::string& word,
                std::vector<CLI::App*>& groups) {
  for (CLI::App* group : groups) {
    if (group->get_parent() == &parent && group->get_name() == word) {
      return group;
    }
  }
  CLI::App* group = parent.add_subcommand(word, "");
  groups.push_back(group);
  return group;
}

// A group's description lists its commands.
void DescribeGroup(CLI::App& group) {
  std::vector<std::string> names;
  for (CLI::App* sub : group.get_subcommands({})) {
    names.push_back(sub->get_name());
  }
  group.description(absl::StrCat("commands: ", absl::StrJoin(names, ", ")));
  group.footer(absl::StrCat("Run `", FullName(&group),
                            " COMMAND --help` for a command's flags."));
}

// The help of `app` as `keel ... --help` prints it.
std::string Help(const CLI::App& app) {
  const CLI::App* parent = app.get_parent();
  return app.help(parent == nullptr ? "" : FullName(parent));
}

}  // namespace

std::vector<std::string> CommandWords(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (!words.empty() && words.front() == "help") {
    words.erase(words.begin());
    words.push_back("--help");
  }
  return words;
}

const Command* ForwardedCommand(const std::vector<std::string>& words) {
  for (const Command& c : Commands()) {
    std::vector<absl::string_view> path = PathWords(c);
    if (c.set_up == nullptr && path.size() <= words.size() &&
        std::equal(path.begin(), path.end(), words.begin())) {
      return &c;
    }
  }
  return nullptr;
}

int RunCommandLine(std::vector<std::string> words) {
  CLI::App app(kDescription, "keel");
  app.set_version_flag("--version", VersionText());
  // A flag given twice keeps its last value, as scripts overriding a
  // default expect; a repeatable one (a vector) keeps all.
  app.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);

  std::vector<Command> commands = Commands();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.path < b.path; });
  std::map<const CLI::App*, CommandRun> runs;
  std::vector<CLI::App*> groups;
  for (const Command& c : commands) {
    std::vector<absl::string_view> path = PathWords(c);
    CLI::App* parent = &app;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      parent = Group(*parent, std::string(path[i]), groups);
    }
    CLI::App* leaf = parent->add_subcommand(std::string(path.back()),
                                            std::string(c.summary));
    if (c.set_up == nullptr) {
      leaf->allow_extras();  // only listed here: main() forwards it
      continue;
    }
    runs[leaf] = c.set_up(*leaf);
    HideEmptyDefaults(*leaf);
  }
  for (CLI::App* group : groups) DescribeGroup(*group);
  // After the commands, which would take it as their own.
  app.footer("Run `keel COMMAND --help` for a command's flags.");

  std::reverse(words.begin(), words.end());  // as CLI::App::parse takes them
  try {
    app.parse(std::move(words));
  } catch (const CLI::ParseError& e) {
    const CLI::App* at = Selected(app);
    std::vector<std::string> extra = at->remaining();
    // --help, --version; with a word the command does not take, its error.
    if (e.get_exit_code() == 0 && extra.empty()) return app.exit(e);
    std::string name = FullName(at);
    std::string why = e.what();
    // An unexpected word explains the rest (a flag misspelt is a required
    // one missing), and below a command it is an unknown command.
    if (!extra.empty() && runs.count(at) == 0 && extra.front()[0] != '-') {
      why = absl::StrCat("unknown command \"", extra.front(), "\"");
    } else if (!extra.empty()) {
      why = absl::StrCat("unexpected argument \"", extra.front(), "\"");
    } else if (why.starts_with(at->get_name() + ": ")) {
      why.erase(0, at->get_name().size() + 2);
    }
    std::fprintf(stderr, "%s: %s\nRun `%s --help` for %s.\n", name.c_str(),
                 why.c_str(), name.c_str(),
                 runs.count(at) != 0 ? "its flags" : "the commands");
    return 2;
  }
  const CLI::App* at = Selected(app);
  auto run = runs.find(at);
  if (run == runs.end()) {  // `keel` or `keel bench` alone
    std::fprintf(stderr, "%s%s: a command is needed\n", Help(*at).c_str(),
                 FullName(at).c_str());
    return 2;
  }
  return run->second();
}

int Fail(std::string_view command, const absl::Status& status, int code) {
  std::fprintf(stderr, "keel %.*s: %s\n", static_cast<int>(command.size()),
               command.data(), std::string(status.message()).c_str());
  return code;
}

int UsageError(std::string_view command, const absl::Status& status) {
  Fail(command, status, 2);
  std::fprintf(stderr, "Run `keel %.*s --help` for its flags.\n",
               static_cast<int>(command.size()), command.data());
  return 2;
}

std::string InputPath(const std::string& argument) {
  return argument == "-" ? "/dev/stdin" : argument;
}

}  // namespace keel::tools
