#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cdcguard/model/registry.hpp"

namespace cdcguard {

// Lookups over one Registry (which must outlive it): entries by server id and
// by connector, reservations by id, teams by namespace.
class RegistryIndex {
 public:
  explicit RegistryIndex(const Registry& registry);

  const Registry& registry() const { return registry_; }
  const std::vector<const RegistryEntry*>& entries_with_id(std::uint32_t id) const;
  const std::vector<const RegistryEntry*>& entries_of(std::string_view connector) const;
  const Reservation* reservation(std::uint32_t id) const;
  const Team* team_for_namespace(std::string_view namespace_name) const;

  // The live entry (Active, Reserved, unexpired Pending) holding `id`, if any
  // other than `except_connector`'s.
  const RegistryEntry* live_holder(std::uint32_t id, std::string_view except_connector, TimePoint now) const;
  // The live entry of `connector`, if any.
  const RegistryEntry* live_entry_of(std::string_view connector, TimePoint now) const;
  // A Decommissioned entry of another connector whose embargo on `id` still runs.
  const RegistryEntry* embargo_on(std::uint32_t id, std::string_view except_connector, TimePoint now) const;

 private:
  const Registry& registry_;
  std::unordered_map<std::uint32_t, std::vector<const RegistryEntry*>> by_id_;
  std::unordered_map<std::string, std::vector<const RegistryEntry*>> by_connector_;
  std::unordered_map<std::uint32_t, const Reservation*> reserved_;
  std::unordered_map<std::string, const Team*> team_by_namespace_;
};

}  // namespace cdcguard
