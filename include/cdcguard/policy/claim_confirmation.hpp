#pragma once

#include <cstddef>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/policy/connector_index.hpp"

// A Pending claim becomes Active once the connector that claimed it is seen in
// the cluster with that server id (DESIGN.md "Race-free uniqueness"). Pure:
// the cluster is a ConnectorIndex, `now` an argument.
//
// Superseded by reconcile() (reconciler.hpp), whose step 1 also records the
// connector's uid, the cluster and the topic facts, and confirms a lapsed
// claim whose connector runs the id; this stays until `serve` calls that.
namespace cdcguard {

// How many Pending claims in `registry` the cluster confirms now.
std::size_t confirmable_claims(const Registry& registry, const ConnectorIndex& cluster, TimePoint now);

// Makes every such claim Active (claimUid and expiresAt cleared). Returns how
// many it changed. A lapsed claim, or one whose connector holds another id or
// is missing, is left alone: only a sighting confirms.
std::size_t confirm_claims(Registry& registry, const ConnectorIndex& cluster, TimePoint now);

}  // namespace cdcguard
