#include "cdcguard/policy/reconciler.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include "cdcguard/model/names.hpp"
#include "cdcguard/policy/claims.hpp"
#include "cdcguard/policy/registry_index.hpp"

namespace cdcguard {

std::string_view to_string(ReconcileStep step) {
  switch (step) {
    case ReconcileStep::Confirm:
      return "confirm";
    case ReconcileStep::Expire:
      return "expire";
    case ReconcileStep::Decommission:
      return "decommission";
    case ReconcileStep::Own:
      return "own";
    case ReconcileStep::Refresh:
      return "refresh";
    case ReconcileStep::Adopt:
      return "adopt";
    case ReconcileStep::Prune:
      return "prune";
  }
  return "confirm";
}

std::string_view to_string(AdoptionBlocker blocker) {
  switch (blocker) {
    case AdoptionBlocker::Reserved:
      return "reserved";
    case AdoptionBlocker::HeldByEntry:
      return "held-by-entry";
    case AdoptionBlocker::Embargoed:
      return "embargoed";
    case AdoptionBlocker::SharedInCluster:
      return "shared-in-cluster";
    case AdoptionBlocker::ForeignEntry:
      return "foreign-entry";
    case AdoptionBlocker::ClaimInFlight:
      return "claim-in-flight";
    case AdoptionBlocker::RegisteredWithOtherId:
      return "registered-with-other-id";
    case AdoptionBlocker::SharedHistoryTopic:
      return "shared-history-topic";
    case AdoptionBlocker::InvalidKey:
      return "invalid-key";
  }
  return "held-by-entry";
}

std::size_t ReconcileReport::count(ReconcileStep step) const {
  return static_cast<std::size_t>(std::count_if(changes.begin(), changes.end(),
                                                [&](const ReconcileChange& c) { return c.step == step; }));
}

namespace {

bool holds_id(const ConnectorFacts& c) {
  return c.reads_binlog() && c.server_id.state == ServerIdValue::State::Valid;
}

// What the parser counts as holding an id: it does not know "now", so a
// lapsed Pending claim still counts until a reconciler removes it.
bool written_live(const RegistryEntry& e) {
  return e.status != EntryStatus::Decommissioned;
}

std::string cluster_note(const RegistryEntry& e) {
  return e.cluster.empty() ? std::string() : " (cluster " + e.cluster + ")";
}

class Reconciler {
 public:
  Reconciler(Registry& registry, const ConnectorIndex& cluster, TimePoint now,
             const ReconcileOptions& options)
      : registry_(registry),
        cluster_(cluster),
        now_(now),
        name_(options.cluster_name),
        namespaces_(options.namespaces.begin(), options.namespaces.end()),
        import_only_(options.import_only) {}

  ReconcileReport run() {
    if (import_only_) {
      adopt_unrecorded();
      return std::move(report_);
    }
    confirm_seen_claims();
    expire_lapsed_claims();
    decommission_gone();
    own_and_refresh();
    adopt_unrecorded();
    prune_history();
    return std::move(report_);
  }

 private:
  // Whether the cluster view can show the connector of `e` at all: with
  // --namespaces, one in another namespace is never seen, so its absence
  // proves nothing and its entry is treated as another cluster's.
  bool in_view(const RegistryEntry& e) const {
    if (namespaces_.empty()) return true;
    const std::string_view key = e.connector;
    return namespaces_.contains(key.substr(0, key.find('/')));  // no copy: the set compares transparently
  }
  bool ours(const RegistryEntry& e) const { return e.cluster == name_ && in_view(e); }
  bool foreign(const RegistryEntry& e) const {
    return (!e.cluster.empty() && e.cluster != name_) || !in_view(e);
  }

  // The connector of `e`, when the cluster runs it with `e`'s id.
  const ConnectorFacts* seen_with_id(const RegistryEntry& e) const {
    const ConnectorFacts* c = cluster_.find(e.connector);
    return c && holds_id(*c) && c->server_id.id == e.server_id ? c : nullptr;
  }

  // Gone: no object with the key, or another object (deleted and created
  // again: the old one's replication session may linger, so its entry must
  // rest). An object without a uid cannot be told apart, so it counts as the same.
  bool gone(const RegistryEntry& e) const {
    const ConnectorFacts* c = cluster_.find(e.connector);
    return !c || (!c->uid.empty() && c->uid != e.uid);
  }

  void record(ReconcileStep step, const RegistryEntry& e) {
    report_.changes.push_back({step, e.connector, e.server_id});
  }

  // Makes `e` the Active entry of this cluster for the connector seen with
  // its id: what steps 1, 4 and 5 write. Returns whether anything changed.
  bool settle(RegistryEntry& e, const ConnectorFacts& c) {
    bool changed = false;
    const auto set = [&changed](auto& field, auto value) {
      if (field == value) return;
      field = std::move(value);
      changed = true;
    };
    set(e.status, EntryStatus::Active);
    set(e.claim_uid, std::string());
    set(e.expires_at, std::optional<TimePoint>());
    set(e.cluster, name_);
    // A uid the registry could not hold (never one the API server sends) is
    // left out rather than make the registry unreadable.
    if (entry_uid_problem(c.uid).empty()) set(e.uid, c.uid);
    if (e.owner.empty()) {
      if (const Team* team = registry_.team_for_namespace(c.namespace_name)) set(e.owner, team->name);
    }
    changed = set_topic_facts(e, c) || changed;
    return changed;
  }

  // Step 1. A lapsed claim whose connector is seen with the id is confirmed
  // too: the admission granted it, the connector runs it, and only the
  // reconciler was late (a leader change, say). The parser counts every
  // Pending entry as live, so no other live entry can hold the id.
  void confirm_seen_claims() {
    for (auto& e : registry_.entries) {
      if (e.status != EntryStatus::Pending || foreign(e)) continue;
      if (const ConnectorFacts* c = seen_with_id(e)) {
        settle(e, *c);
        record(ReconcileStep::Confirm, e);
      }
    }
  }

  // Step 2. A claim without expiresAt never lapses: it is left for a person.
  void expire_lapsed_claims() {
    std::erase_if(registry_.entries, [&](const RegistryEntry& e) {
      if (e.status != EntryStatus::Pending || foreign(e) || e.is_live(now_) || seen_with_id(e)) return false;
      record(ReconcileStep::Expire, e);
      return true;
    });
  }

  // Step 3. Only an entry that records its connector's uid: without one, this
  // cluster never saw the object, so its absence here proves nothing (it may
  // run in a cluster without cdc-guard).
  void decommission_gone() {
    for (auto& e : registry_.entries) {
      if (e.status != EntryStatus::Active || !ours(e) || e.uid.empty() || !gone(e)) continue;
      e.status = EntryStatus::Decommissioned;
      e.decommissioned_at = now_;
      record(ReconcileStep::Decommission, e);
    }
  }

  // Step 5. A Reserved entry was documented before deployment; seen with its
  // id, the connector is deployed: Active. Our own Active entries are kept
  // true (topic facts, and the uid of an entry a claim wrote without one).
  void own_and_refresh() {
    for (auto& e : registry_.entries) {
      const bool unowned_holder =
          e.cluster.empty() && (e.status == EntryStatus::Active || e.status == EntryStatus::Reserved);
      const bool own_reserved = ours(e) && e.status == EntryStatus::Reserved;
      const bool own_active = ours(e) && e.status == EntryStatus::Active;
      if (!unowned_holder && !own_reserved && !own_active) continue;
      const ConnectorFacts* c = seen_with_id(e);
      if (!c) continue;
      if (!own_active) {
        settle(e, *c);
        record(ReconcileStep::Own, e);
      } else if (settle(e, *c)) {  // step 3 has already retired the entry of a replaced object
        record(ReconcileStep::Refresh, e);
      }
    }
  }

  const RegistryIndex& index() {
    if (!index_) index_.emplace(registry_);
    return *index_;
  }

  void not_adopted(const ConnectorFacts& c, AdoptionBlocker blocker, std::string reason) {
    report_.not_adopted.push_back({c.key(), c.server_id.id, blocker, std::move(reason)});
  }

  // Why `c` cannot take its id now, or nothing when it can. `c` has no live
  // entry of its own with the id.
  std::optional<std::pair<AdoptionBlocker, std::string>> blocker_of(const ConnectorFacts& c) {
    const std::string key = c.key();
    const std::uint32_t id = c.server_id.id;
    const std::string id_text = "server id " + std::to_string(id);
    if (std::string problem = connector_key_problem(key); !problem.empty())
      return std::pair{AdoptionBlocker::InvalidKey, std::move(problem)};
    const RegistryIndex& idx = index();
    for (const RegistryEntry* e : idx.entries_of(key)) {
      if (!written_live(*e)) continue;
      if (foreign(*e))
        return std::pair{AdoptionBlocker::ForeignEntry,
                         "its entry (" + std::string(to_string(e->status)) + ", server id " +
                             std::to_string(e->server_id) + ") belongs to cluster " + e->cluster +
                             ", and an entry is keyed by namespace/name alone"};
      // A claim of another id: the update that claimed it has not reached the
      // cluster view yet, or the API server refused it and the claim lapses.
      if (e->status == EntryStatus::Pending)
        return std::pair{AdoptionBlocker::ClaimInFlight, "its claim of server id " +
                                                             std::to_string(e->server_id) +
                                                             " is Pending: the id is settled when it is "
                                                             "confirmed or lapses"};
    }
    if (const Reservation* r = idx.reservation(id))
      return std::pair{AdoptionBlocker::Reserved, id_text + " is reserved (" + r->reason + ")"};
    const auto embargoed = [&](const RegistryEntry& e) {
      const auto end = e.embargo_end(registry_.rules.embargo_days);
      return std::pair{AdoptionBlocker::Embargoed, id_text + " is embargoed until " + format_timestamp(*end) +
                                                       " (decommissioned by " + e.connector +
                                                       cluster_note(e) + ")"};
    };
    for (const RegistryEntry* e : idx.entries_with_id(id)) {
      if (e->connector == key || !written_live(*e)) continue;
      // An entry an adoption decided earlier in this pass retires: judged as
      // the Decommissioned entry it becomes when the adoptions are written.
      if (retiring_.contains(e)) {
        RegistryEntry retired = *e;
        retired.status = EntryStatus::Decommissioned;
        retired.decommissioned_at = now_;
        if (retired.is_embargoed(now_, registry_.rules.embargo_days)) return embargoed(retired);
        continue;
      }
      return std::pair{AdoptionBlocker::HeldByEntry, id_text + " is held by the " +
                                                         std::string(to_string(e->status)) + " entry of " +
                                                         e->connector + cluster_note(*e)};
    }
    if (const RegistryEntry* e = idx.embargo_on(id, key, now_)) return embargoed(*e);
    for (const ConnectorFacts* other : cluster_.with_server_id(id)) {
      if (other->key() == key) continue;
      return std::pair{AdoptionBlocker::SharedInCluster,
                       other->key() + " in this cluster runs " + id_text + " too"};
    }
    return std::nullopt;
  }

  // What an import refuses besides blocker_of(): moving a registered
  // connector to another id (the reconciler's job, once it runs), and
  // connectors that share a schema history topic (each must get its own
  // before either is registered).
  std::optional<std::pair<AdoptionBlocker, std::string>> import_blocker_of(const ConnectorFacts& c,
                                                                           const RegistryEntry* held) {
    if (held && !foreign(*held))
      return std::pair{AdoptionBlocker::RegisteredWithOtherId,
                       "its " + std::string(to_string(held->status)) + " entry holds server id " +
                           std::to_string(held->server_id) + "; the reconciler moves it once it runs"};
    if (c.kafka_schema_history() && !c.history_topic.value.empty()) {
      for (const ConnectorFacts* other : cluster_.with_history_topic(c.history_topic.value)) {
        if (other->key() == c.key()) continue;
        return std::pair{AdoptionBlocker::SharedHistoryTopic,
                         other->key() + " uses its schema history topic " + c.history_topic.value + " too"};
      }
    }
    return std::nullopt;
  }

  // Step 4, in key order, so that the report does not depend on how the
  // cluster view is hashed. Every decision is made with one index of the
  // registry as steps 1-5 left it, and the adoptions are written after; each
  // decision still sees the ones before it: a connector adopted on an id is
  // the only one in the cluster running it (else SharedInCluster blocks
  // both), so the only mark an adoption leaves on another's verdict is the
  // entry of the id it moves from, which retiring_ records. (Rebuilding the
  // index after each adoption made adopting a fleet quadratic: 2,000
  // connectors took 2.5 s, past the writer's deadline.)
  void adopt_unrecorded() {
    std::vector<const ConnectorFacts*> seen;
    cluster_.for_each([&](const ConnectorFacts& c) {
      if (holds_id(c)) seen.push_back(&c);
    });
    std::sort(seen.begin(), seen.end(),
              [](const ConnectorFacts* a, const ConnectorFacts* b) { return a->key() < b->key(); });
    struct Adoption {
      const ConnectorFacts* connector;
      std::optional<std::uint32_t> moved_from;  // the id of its entry that claim_id() retires
    };
    std::vector<Adoption> adoptions;
    for (const ConnectorFacts* c : seen) {
      const RegistryEntry* held = index().live_entry_of(c->key(), now_);
      if (held && held->server_id == c->server_id.id && !foreign(*held))
        continue;  // settled by steps 1 and 5 (an import leaves it as it is)
      if (auto blocker = import_only_ ? import_blocker_of(*c, held) : std::nullopt) {
        not_adopted(*c, blocker->first, std::move(blocker->second));
        continue;
      }
      if (auto blocker = blocker_of(*c)) {
        not_adopted(*c, blocker->first, std::move(blocker->second));
        continue;
      }
      adoptions.push_back({c, held ? std::optional<std::uint32_t>(held->server_id) : std::nullopt});
      if (held) retiring_.insert(held);
    }
    for (const Adoption& a : adoptions) adopt(*a.connector, a.moved_from);
    retiring_.clear();
    index_.reset();
  }

  void adopt(const ConnectorFacts& c, std::optional<std::uint32_t> moved_from) {
    const std::string key = c.key();
    const std::uint32_t id = c.server_id.id;
    claim_id(registry_, c, id, now_, ClaimStyle{false, {}, "", name_});
    if (moved_from) report_.changes.push_back({ReconcileStep::Decommission, key, *moved_from});
    // claim_id() appends the new claim: the connector held no live entry with this id.
    RegistryEntry& e = registry_.entries.back();
    settle(e, c);
    record(ReconcileStep::Adopt, e);
  }

  // Step 6. Never inside the embargo, however short the history: the
  // Decommissioned entry is what keeps the id resting.
  void prune_history() {
    if (!registry_.rules.history_days) return;
    const int history_days = *registry_.rules.history_days;
    const int embargo_days = registry_.rules.embargo_days;
    std::erase_if(registry_.entries, [&](const RegistryEntry& e) {
      if (e.status != EntryStatus::Decommissioned || foreign(e)) return false;
      const auto history_end = e.embargo_end(history_days);
      const auto embargo_end = e.embargo_end(embargo_days);
      if (!history_end || *history_end > now_ || !embargo_end || *embargo_end > now_) return false;
      record(ReconcileStep::Prune, e);
      return true;
    });
  }

  Registry& registry_;
  const ConnectorIndex& cluster_;
  const TimePoint now_;
  const std::string name_;
  const std::set<std::string, std::less<>> namespaces_;  // empty: every namespace is in view
  const bool import_only_;
  std::optional<RegistryIndex> index_;
  std::set<const RegistryEntry*> retiring_;  // step 4: entries adoptions decided so far will retire
  ReconcileReport report_;
};

}  // namespace

ReconcileReport reconcile(Registry& registry, const ConnectorIndex& cluster, TimePoint now,
                          const ReconcileOptions& options) {
  if (std::string problem = cluster_name_problem(options.cluster_name); !problem.empty())
    throw std::invalid_argument("reconcile: --cluster-name: " + problem);
  return Reconciler(registry, cluster, now, options).run();
}

}  // namespace cdcguard
