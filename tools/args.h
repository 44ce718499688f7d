// Args: a subcommand's command line, `--name value`, `--name=value`, bare
// `--switch`, and positional words. A command states the flags it takes;
// anything else is a usage error naming the flag.
//
//   Args args({"--size", "100", "--json"});  // words after the command path
//   if (auto s = args.Check({"size", "count"}, {"json"}); !s.ok()) ...
//   size_t size = args.GetUint("size", 100).value();
//
// Thread safety: none needed; one per process.
#ifndef KEEL_TOOLS_ARGS_H_
#define KEEL_TOOLS_ARGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::tools {

class Args {
 public:
  explicit Args(std::vector<std::string> words);

  // Parses the words against the flags that take a value and the switches
  // that do not. Call once, before any getter.
  absl::Status Check(const std::vector<std::string_view>& valued,
                     const std::vector<std::string_view>& switches = {});

  bool Has(std::string_view name) const;
  // The last value given for a flag, or `fallback`.
  std::string Get(std::string_view name, std::string fallback = "") const;
  // Every value given for a repeatable flag, in order.
  std::vector<std::string> GetAll(std::string_view name) const;
  absl::StatusOr<uint64_t> GetUint(std::string_view name,
                                   uint64_t fallback) const;
  absl::StatusOr<double> GetDouble(std::string_view name,
                                   double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::vector<std::string> words_;
  std::vector<std::pair<std::string, std::string>> flags_;
  std::vector<std::string> positional_;
};

// Prints "keel <command>: <status message>" to stderr and returns `code`.
int Fail(std::string_view command, const absl::Status& status, int code = 1);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_ARGS_H_
