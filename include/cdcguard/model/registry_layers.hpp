#pragma once

#include <string>
#include <vector>

#include "cdcguard/model/registry.hpp"

// The registry in two layers (DESIGN.md "Policy and state, like spec and
// status"): the *policy* (rules, teams, reserved, exceptions and hand-written
// entries; owned by Helm or GitOps) and the *state* (the entries cdc-guard
// claims, confirms and decommissions; owned by cdc-guard). Everything judges
// against their union; writes go to the state only. Pure functions.
namespace cdcguard {

// The union: the policy's rules, teams, reserved and exceptions; its entries
// except those of a connector (namespace/name) the state has entries for,
// which replace all of the policy's entries of that connector (a policy
// Reserved entry becomes the state's Active one once the connector appears).
// The state's own rules, teams, reserved and exceptions are not used.
Registry merge_registry_layers(const Registry& policy, const Registry& state);

// The entries the state must hold so that merging it with `policy` gives
// `merged` (the union after a change): for every connector whose entries in
// `merged` differ from the policy's, all of its entries in `merged`; nothing
// for a connector whose entries equal the policy's (they show through).
//
// A policy entry cannot be removed from the state side: a connector whose
// entries are gone from `merged` but still in the policy gets none here, so
// the policy's show through again (the removal is undone, not looped). The
// connectors for which that happened are added to `unremovable` when given.
std::vector<RegistryEntry> state_entries_for(const Registry& merged, const Registry& policy,
                                             std::vector<std::string>* unremovable = nullptr);

// Whether a state document carries more than entries (a full registry
// migrated into the state ConfigMap): rules other than the defaults, teams,
// reserved ids or exceptions. The union ignores them; a write keeps them.
bool has_policy_sections(const Registry& state);

}  // namespace cdcguard
