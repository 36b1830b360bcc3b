#include "cdcguard/model/registry_layers.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace cdcguard {
namespace {

using EntriesByConnector = std::unordered_map<std::string_view, std::vector<const RegistryEntry*>>;

// Each connector's entries, in the order they come; `order` gets each
// connector once, in the order it first comes.
EntriesByConnector by_connector(const std::vector<RegistryEntry>& entries,
                                std::vector<std::string_view>* order = nullptr) {
  EntriesByConnector out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    auto& list = out[e.connector];
    if (list.empty() && order) order->push_back(e.connector);
    list.push_back(&e);
  }
  return out;
}

// The same entries, in any order.
bool same_entries(const std::vector<const RegistryEntry*>& a, const std::vector<const RegistryEntry*>& b) {
  return a.size() == b.size() &&
         std::is_permutation(a.begin(), a.end(), b.begin(),
                             [](const RegistryEntry* x, const RegistryEntry* y) { return *x == *y; });
}

}  // namespace

Registry merge_registry_layers(const Registry& policy, const Registry& state) {
  Registry merged;
  merged.rules = policy.rules;
  merged.exceptions = policy.exceptions;
  merged.teams = policy.teams;
  merged.reserved = policy.reserved;
  std::unordered_set<std::string_view> overridden;
  overridden.reserve(state.entries.size());
  for (const auto& e : state.entries) overridden.insert(e.connector);
  merged.entries.reserve(policy.entries.size() + state.entries.size());
  for (const auto& e : policy.entries)
    if (!overridden.contains(e.connector)) merged.entries.push_back(e);
  merged.entries.insert(merged.entries.end(), state.entries.begin(), state.entries.end());
  return merged;
}

std::vector<RegistryEntry> state_entries_for(const Registry& merged, const Registry& policy,
                                             std::vector<std::string>* unremovable) {
  const EntriesByConnector in_policy = by_connector(policy.entries);
  std::vector<std::string_view> order;
  const EntriesByConnector in_merged = by_connector(merged.entries, &order);
  std::vector<RegistryEntry> out;
  for (const std::string_view connector : order) {
    const auto& entries = in_merged.at(connector);
    const auto p = in_policy.find(connector);
    if (p != in_policy.end() && same_entries(entries, p->second)) continue;
    for (const RegistryEntry* e : entries) out.push_back(*e);
  }
  if (unremovable) {
    for (const auto& [connector, entries] : in_policy)
      if (!in_merged.contains(connector)) unremovable->emplace_back(connector);
    std::sort(unremovable->begin(), unremovable->end());
  }
  return out;
}

bool has_policy_sections(const Registry& state) {
  return state.rules != RegistryRules{} || !state.teams.empty() || !state.reserved.empty() ||
         !state.exceptions.empty();
}

}  // namespace cdcguard
