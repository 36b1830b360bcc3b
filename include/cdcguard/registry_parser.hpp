#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/registry.hpp"

namespace cdcguard {

// Every problem found in a registry, each as "file:line: message".
class RegistryError : public std::runtime_error {
 public:
  explicit RegistryError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Parses and strictly validates registry YAML (DESIGN.md "Registry"). `file`
// names the source in messages; `line_offset` is added to every line (for a
// registry embedded in a ConfigMap). An empty text is the default registry.
// Throws RegistryError listing every problem.
Registry parse_registry(std::string_view text, const std::string& file, int line_offset = 0);

// A registry file as users keep it: bare registry YAML, or a ConfigMap
// manifest whose `data.registry.yaml` holds it.
Registry parse_registry_document(std::string_view text, const std::string& file);

// The registry that `check` uses when none is given: DESIGN.md's defaults.
Registry default_registry();

}  // namespace cdcguard
