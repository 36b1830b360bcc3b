#pragma once

#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/time.hpp"

namespace cdcguard::cli {

// Exit codes of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitViolations = 1;  // something at deny level / nothing to allocate
inline constexpr int kExitUsage = 2;       // usage, parse or registry errors

struct Streams {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

// Flags and positional arguments: `--name value`, `--name=value`, `--switch`.
struct ParsedArgs {
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
  bool help = false;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `value_flags` take a value; `switches` do not. Anything else is a UsageError.
ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<std::string>& value_flags,
                      const std::vector<std::string>& switches = {});

// --now: RFC 3339 or a date; default the system clock (read here, at the edge).
TimePoint resolve_now(const ParsedArgs& args);

// Reads a registry file (bare YAML or a ConfigMap manifest). Throws
// RegistryError with file:line problems.
Registry load_registry_file(const std::string& path);

int run(const std::vector<std::string>& args, Streams io);
int run_check(const std::vector<std::string>& args, Streams io);
int run_audit(const std::vector<std::string>& args, Streams io);
int run_registry(const std::vector<std::string>& args, Streams io);
// `registry import` (registry_import.cpp).
int registry_import(const std::vector<std::string>& args, Streams io);
int run_serve(const std::vector<std::string>& args, Streams io);

}  // namespace cdcguard::cli
