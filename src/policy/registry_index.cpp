#include "cdcguard/policy/registry_index.hpp"

namespace cdcguard {

RegistryIndex::RegistryIndex(const Registry& registry) : registry_(registry) {
  for (const auto& e : registry.entries) {
    by_id_[e.server_id].push_back(&e);
    by_connector_[e.connector].push_back(&e);
  }
  for (const auto& r : registry.reserved) reserved_.emplace(r.server_id, &r);
  for (const auto& t : registry.teams) {
    for (const auto& ns : t.namespaces) team_by_namespace_.emplace(ns, &t);
  }
}

const std::vector<const RegistryEntry*>& RegistryIndex::entries_with_id(std::uint32_t id) const {
  static const std::vector<const RegistryEntry*> kNone;
  auto it = by_id_.find(id);
  return it == by_id_.end() ? kNone : it->second;
}

const std::vector<const RegistryEntry*>& RegistryIndex::entries_of(std::string_view connector) const {
  static const std::vector<const RegistryEntry*> kNone;
  auto it = by_connector_.find(std::string(connector));
  return it == by_connector_.end() ? kNone : it->second;
}

const Reservation* RegistryIndex::reservation(std::uint32_t id) const {
  auto it = reserved_.find(id);
  return it == reserved_.end() ? nullptr : it->second;
}

const Team* RegistryIndex::team_for_namespace(std::string_view namespace_name) const {
  auto it = team_by_namespace_.find(std::string(namespace_name));
  return it == team_by_namespace_.end() ? nullptr : it->second;
}

const RegistryEntry* RegistryIndex::live_holder(std::uint32_t id, std::string_view except_connector,
                                                TimePoint now) const {
  for (const RegistryEntry* e : entries_with_id(id)) {
    if (e->connector != except_connector && e->is_live(now)) return e;
  }
  return nullptr;
}

const RegistryEntry* RegistryIndex::live_entry_of(std::string_view connector, TimePoint now) const {
  for (const RegistryEntry* e : entries_of(connector)) {
    if (e->is_live(now)) return e;
  }
  return nullptr;
}

const RegistryEntry* RegistryIndex::embargo_on(std::uint32_t id, std::string_view except_connector,
                                               TimePoint now) const {
  const RegistryEntry* latest = nullptr;
  for (const RegistryEntry* e : entries_with_id(id)) {
    if (e->connector == except_connector || !e->is_embargoed(now, registry_.rules.embargo_days)) continue;
    if (!latest ||
        *e->embargo_end(registry_.rules.embargo_days) > *latest->embargo_end(registry_.rules.embargo_days)) {
      latest = e;
    }
  }
  return latest;
}

}  // namespace cdcguard
