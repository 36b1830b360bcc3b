#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/policy/connector_index.hpp"

// The reconciler's rules (DESIGN.md "The reconciler", steps 1-6): one pass
// that makes the registry true to the connectors a cluster runs. Pure: the
// cluster is a ConnectorIndex, `now` an argument; `serve` runs the pass inside
// the registry store's update(), on the cluster cache's connectors.
//
// An entry is *ours* when its `cluster` is this cluster's name, *unowned*
// when it names none (hand-written, or written before `cluster` existed), and
// *foreign* otherwise. No step changes or removes a foreign entry: only the
// cluster that runs a connector can tell that it is gone. A connector holds an
// id only when it reads a binlog (MySQL, MariaDB) and its id is valid.
namespace cdcguard {

struct ReconcileOptions {
  // The --cluster-name of the cluster whose connectors are in view; written
  // into every entry it confirms, adopts or owns. Must pass
  // cluster_name_problem() (names.hpp): reconcile() throws otherwise, since
  // the registry could not be written.
  std::string cluster_name = "default";
  // The namespaces the cluster view covers (serve --namespaces); empty: all.
  // Entries of connectors in other namespaces are left alone, as another
  // cluster's are: the view cannot show whether their connectors exist.
  std::vector<std::string> namespaces;
  // `registry import`: step 4 alone, and stricter. A connector whose entry
  // holds another id is left alone (AdoptionBlocker::RegisteredWithOtherId),
  // and connectors that share a schema history topic are not adopted
  // (SharedHistoryTopic). Nothing else is changed, nothing removed.
  bool import_only = false;
};

// What a pass did to an entry, numbered as DESIGN.md numbers the steps. A
// pass settles the entries (1, 2, 3, 5) before it adopts (4), so that an
// adoption is judged against entries already true to the cluster; it prunes (6) last.
enum class ReconcileStep {
  Confirm,       // 1: a Pending claim whose connector is seen with its id -> Active
  Expire,        // 2: a lapsed Pending claim whose connector is not seen with its id -> removed
  Decommission,  // 3: our Active entry whose connector (same uid) is gone -> Decommissioned;
                 // 4: also a connector's entry of the id it ran before it moved to a free one
  Own,           // 5: an unowned Active or Reserved entry (or a Reserved one of ours) whose
                 //    connector is seen with its id -> our Active entry
  Refresh,       // 5: our Active entry seen with stale facts (uid, topics, owner) -> updated
  Adopt,         // 4: a connector seen with a free id and no entry of it -> a new Active entry
  Prune,         // 6: a Decommissioned entry past historyDays and its embargo -> removed
};
std::string_view to_string(ReconcileStep step);

// One entry a step changed: the connector and the id of that entry.
struct ReconcileChange {
  ReconcileStep step;
  std::string connector;
  std::uint32_t server_id = 0;
  bool operator==(const ReconcileChange&) const = default;
};

// Why a connector seen with an id got no entry for it (step 4). The audit
// reports the conflict; the reconciler never edits a KafkaConnector.
enum class AdoptionBlocker {
  Reserved,         // the id is in `reserved`
  HeldByEntry,      // a live entry of another connector holds it (of any cluster)
  Embargoed,        // another connector's Decommissioned entry still embargoes it
  SharedInCluster,  // another binlog connector in this cluster runs it too: neither is adopted
  ForeignEntry,     // the connector's key has a live entry of another cluster (keys are namespace/name)
  ClaimInFlight,    // an admission's claim of another id for this connector is still Pending
  InvalidKey,       // namespace/name cannot key a registry entry
  // Only with import_only:
  RegisteredWithOtherId,  // the connector's live entry holds another id
  SharedHistoryTopic,     // another connector in view uses its schema history topic
};
std::string_view to_string(AdoptionBlocker blocker);

struct NotAdopted {
  std::string connector;  // namespace/name
  std::uint32_t server_id = 0;
  AdoptionBlocker blocker = AdoptionBlocker::HeldByEntry;
  // A sentence naming the holder: the other connector, the entry and its
  // cluster, the reservation, or the embargo and the day it ends.
  std::string reason;
};

struct ReconcileReport {
  std::vector<ReconcileChange> changes;  // in the order they were made
  std::vector<NotAdopted> not_adopted;   // by connector

  // How many entries `step` changed.
  std::size_t count(ReconcileStep step) const;
  // Whether the registry was changed (the caller writes it only then).
  bool changed() const { return !changes.empty(); }
};

// One pass over `registry` against the connectors `cluster` runs now, at
// `now`. Changes only entries that are ours or unowned; the result is always
// a registry the parser reads back, and a second pass over it with the same
// cluster and `now` changes nothing. Entries are written through claim_id()
// (claims.hpp) where a claim is made, like the webhook writes them.
// Throws std::invalid_argument when options.cluster_name cannot be written.
ReconcileReport reconcile(Registry& registry, const ConnectorIndex& cluster, TimePoint now,
                          const ReconcileOptions& options);

}  // namespace cdcguard
