#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/registry_index.hpp"

namespace cdcguard {

struct Allocation {
  std::optional<std::uint32_t> id;  // empty when the pool is exhausted
  std::string pool;                 // "team-a" or "the registry range"
  IdRange range;                    // the range searched
  std::string error;                // why there is no id
};

// Picks the lowest id in the connector's team range (else the registry range)
// that no connector, no live entry (Active, Pending, Reserved), no reservation
// and no embargo holds. Reads the indexes; never changes them.
class ServerIdAllocator {
 public:
  ServerIdAllocator(const RegistryIndex& registry, const ConnectorIndex& connectors, TimePoint now);

  // For a connector of `namespace_name`. When `connector` (namespace/name)
  // already holds a live entry, that id is returned again (idempotent claims).
  Allocation next_for(std::string_view namespace_name, std::string_view connector = {}) const;
  // Whether `id` is free for `connector` to take.
  bool is_free(std::uint32_t id, std::string_view connector) const;

 private:
  const RegistryIndex& registry_;
  const ConnectorIndex& connectors_;
  TimePoint now_;
};

}  // namespace cdcguard
