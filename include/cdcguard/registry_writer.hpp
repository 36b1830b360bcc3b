#pragma once

#include <string>

#include "cdcguard/registry.hpp"

namespace cdcguard {

// Registry YAML in a stable order (entries by server id, then connector), one
// flow map per entry so that diffs stay one line per change. parse_registry()
// reads back exactly what this writes.
std::string render_registry_yaml(const Registry& registry);

// The human table: `Connector Name | Server ID | Database | Status | Owner | Date`
// under a header that states the allocation rules.
std::string render_registry_markdown(const Registry& registry);

}  // namespace cdcguard
