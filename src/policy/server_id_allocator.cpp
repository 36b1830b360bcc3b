#include "cdcguard/policy/server_id_allocator.hpp"

namespace cdcguard {

ServerIdAllocator::ServerIdAllocator(const RegistryIndex& registry, const ConnectorIndex& connectors,
                                     TimePoint now)
    : registry_(registry), connectors_(connectors), now_(now) {}

bool ServerIdAllocator::is_free(std::uint32_t id, std::string_view connector) const {
  if (registry_.reservation(id)) return false;
  if (registry_.live_holder(id, connector, now_)) return false;
  if (registry_.embargo_on(id, connector, now_)) return false;
  for (const ConnectorFacts* f : connectors_.with_server_id(id)) {
    if (f->key() != connector) return false;
  }
  return true;
}

Allocation ServerIdAllocator::next_for(std::string_view namespace_name, std::string_view connector) const {
  Allocation a;
  const Team* team = registry_.team_for_namespace(namespace_name);
  if (team && team->range) {
    a.pool = team->name;
    a.range = *team->range;
  } else {
    a.pool = team ? team->name : "the registry range";
    a.range = registry_.registry().rules.range;
  }
  if (!connector.empty()) {
    if (const RegistryEntry* own = registry_.live_entry_of(connector, now_);
        own && a.range.contains(own->server_id)) {
      a.id = own->server_id;
      return a;
    }
  }
  // Each id that is not free is held by something the indexes know, so this
  // loop runs at most (ids in use + 1) times before it finds a free one.
  for (std::uint64_t id = a.range.from; id <= a.range.to; ++id) {
    if (is_free(static_cast<std::uint32_t>(id), connector)) {
      a.id = static_cast<std::uint32_t>(id);
      return a;
    }
  }
  a.error = "no free server id left in " +
            (team && team->range ? "team " + team->name + "'s range " : "the range ") + a.range.str() +
            ": every id is in use, reserved or embargoed";
  return a;
}

}  // namespace cdcguard
