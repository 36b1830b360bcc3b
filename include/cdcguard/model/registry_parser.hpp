#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/registry.hpp"

namespace cdcguard {

// Every problem found in a registry, each as "file:line: message".
class RegistryError : public std::runtime_error {
 public:
  explicit RegistryError(std::vector<std::string> problems);
  // what() is `headline` and the problems, one a line (default: "invalid registry").
  RegistryError(const std::string& headline, std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Why an empty text (nothing, whitespace, comments only) is not a registry.
inline constexpr std::string_view kEmptyRegistry =
    "the registry is empty; an empty registry is a broken one, not a new one (its entries, teams and "
    "reservations would be lost): restore it, or create a new one with `cdc-guard registry init`";

// Parses and strictly validates registry YAML (DESIGN.md "Registry"). `file`
// names the source in messages; `line_offset` is added to every line (for a
// registry embedded in a ConfigMap). An empty text is an error, not the
// default registry (that one is default_registry()). Connector keys are
// checked with connector_key_problem() (names.hpp). Throws RegistryError
// listing every problem.
Registry parse_registry(std::string_view text, const std::string& file, int line_offset = 0);

// A registry file as users keep it: bare registry YAML, or a ConfigMap
// manifest whose `data.registry.yaml` holds it.
Registry parse_registry_document(std::string_view text, const std::string& file);

// The registry that `check` uses when none is given, and that `registry init`
// writes: DESIGN.md's defaults.
Registry default_registry();

// What parse_registry() would refuse about `registry` once written, found on
// the registry in memory (no file, no lines): values the reader refuses (a
// connector key that is not a DNS-1123 namespace/name, server id 0, an empty
// range, an unknown rule id, a date past year 9999) and the same consistency
// checks (an id held by two live entries, a connector with two live ids, team
// ranges). Whether each text survives YAML is the writer's to check (see
// render_checked_registry_yaml). Empty when the registry can be written.
std::vector<std::string> registry_problems(const Registry& registry);

}  // namespace cdcguard
