#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "cdcguard/model/connector.hpp"
#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/policy/registry_index.hpp"

// How a server id is written down in the registry (DESIGN.md "Race-free
// uniqueness"): the claim rules, in one place for /validate, /mutate and the
// reconciler. Pure: no store, no clock; `now` is an argument.
namespace cdcguard {

// How an id is claimed. Standalone nothing would ever confirm a Pending claim,
// so the id is recorded Active (no claimUid, no expiresAt). In a cluster it is
// Pending, with the uid of the admission request that claims it, and lapses
// `ttl` after `now` unless the reconciler sees the connector first
// (reconciler.hpp, step 1).
struct ClaimStyle {
  bool pending = false;
  std::chrono::seconds ttl{300};
  std::string uid;  // the admission request that claims it; unused for Active
  // The --cluster-name of the cluster that claims it (cluster mode); "" standalone.
  std::string cluster;
};

// Makes `entry`'s topic facts (topicPrefix, topicDelimiter, schemaHistoryTopic)
// what `connector` has now. A fact the connector lacks, or holds in a form no
// Kafka topic can take (a ${...} placeholder, say), is cleared, so the entry
// stays one the parser accepts. The history topic is recorded only when the
// history is Kafka-backed. Returns whether the entry changed.
bool set_topic_facts(RegistryEntry& entry, const ConnectorFacts& connector);

// Whether `connector`'s id is already written down, so that
// record_admitted() has nothing to do: every live entry of the connector
// (there is at most one in a readable registry) holds this id and records the
// connector's topic facts as set_topic_facts() would, and at least one does,
// as Active (or, with a Pending style, as a live Pending claim). True for a
// connector that does not read a binlog or has no valid id: there is nothing
// to record. Lapsed Pending entries are not looked at; on a registry the
// parser accepts they can sit neither on this id nor next to a live entry of
// the connector, so this is exactly "record_admitted() would not change the
// registry".
bool is_recorded(const RegistryIndex& index, const ConnectorFacts& connector, TimePoint now,
                 const ClaimStyle& style);

// Writes `id` down as the claim of `connector` (keyed by its namespace/name):
// - a lapsed Pending claim (expired, the connector never seen) on `id`, by
//   any connector, or of the key, is removed first: it holds nothing any more,
//   but the registry parser, which does not know "now", counts every Pending
//   entry as live, so keeping it next to the new claim would leave a registry
//   that cannot be read (an id held by two live entries, or a connector with
//   two live ids);
// - a live entry of the key with another id goes into embargo:
//   Decommissioned, decommissionedAt `now` (a Pending one keeps its claimUid
//   and expiresAt; its topic facts stay as history);
// - a live entry of the key with `id` is kept when already settled (Active, or
//   a Pending claim with a Pending style: a retry keeps the first claim's uid,
//   expiry and cluster); otherwise (Reserved before deployment, or a Pending
//   claim with an Active style) it is claimed in `style`;
// - with no live entry of the key on `id`, a new entry is added in `style`,
//   dated `now`.
// The entry that holds `id` afterwards records `connector`'s topic facts
// (set_topic_facts(): filled in when it lacked them, brought up to date when
// they were stale), and a claim written in a style with a cluster names it.
// Returns whether the registry changed. It does not check that `id` is free:
// the rules judge that before a claim is written.
bool claim_id(Registry& registry, const ConnectorFacts& connector, std::uint32_t id, TimePoint now,
              const ClaimStyle& style);

// Records an admitted connector's id (claim_id() with its own id). Nothing
// for a connector that does not read a binlog or has no valid id. Returns
// whether the registry changed.
bool record_admitted(Registry& registry, const ConnectorFacts& connector, TimePoint now,
                     const ClaimStyle& style);

// Whether /mutate, having assigned `key` an id, writes it down as a claim:
// only when `key` holds no live entry. A live entry is the claim of an earlier
// try (a retry or a reinvocation, which the allocator hands the same id
// again), or one that /validate settles once it admits the connector (a
// Reserved entry, an id outside the range now): so a mutation that /validate
// then denies never changes an entry that was there before it.
bool assignment_needs_claim(const RegistryIndex& index, std::string_view key, TimePoint now);

}  // namespace cdcguard
