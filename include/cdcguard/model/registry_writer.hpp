#pragma once

#include <string>
#include <vector>

#include "cdcguard/model/registry.hpp"

namespace cdcguard {

// Registry YAML in a stable order (entries by server id, then connector), one
// flow map per entry so that diffs stay one line per change. parse_registry()
// reads back exactly what this writes.
std::string render_registry_yaml(const Registry& registry);

// render_registry_yaml() for a store about to write: throws RegistryError
// naming every problem when parse_registry() would refuse the text (a key that
// is not a DNS-1123 namespace/name, an id held by two live entries, a text
// that YAML cannot carry, ...), so that no bug elsewhere can leave a stored
// registry that cannot be read. It checks exactly what the parser checks
// without parsing the whole text (registry_problems() on the struct; the
// emitter's output parsed back), at a fraction of a parse's cost.
std::string render_checked_registry_yaml(const Registry& registry);

// Only the `entries:` section of render_registry_yaml(): the state
// ConfigMap's document (DESIGN.md "Policy and state"), which parse_registry()
// reads back as a registry with the default rules and these entries. Checked
// as render_checked_registry_yaml() checks (throws RegistryError).
std::string render_checked_entries_yaml(const Registry& registry);

// What render_checked_registry_yaml() would refuse, without keeping the text:
// empty when the registry can be written and read back.
std::vector<std::string> registry_write_problems(const Registry& registry);

// The human table: `Connector Name | Server ID | Database | Status | Owner | Date`
// under a header that states the allocation rules.
std::string render_registry_markdown(const Registry& registry);

}  // namespace cdcguard
