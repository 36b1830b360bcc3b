// The reconciler's rules (reconciler.hpp, DESIGN.md "The reconciler"): one
// table per step, each scenario a registry in, the connectors this cluster
// ("us") runs and the registry out, at a fixed instant. Every scenario also
// checks that the registry out is one the store can write and the parser
// reads back, and that a second pass changes nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/policy/reconciler.hpp"
#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

const TimePoint kNow = *parse_timestamp("2026-11-25T10:00:00Z");
constexpr std::string_view kPostgres = "io.debezium.connector.postgresql.PostgresConnector";
const ReconcileOptions kUs{"us", {}};

// A connector this cluster runs. Its uid is a UUID's shape, as the API server sends.
struct Seen {
  std::string key;
  std::string server_id;  // as written; "" = none
  std::string uid;        // "" = the view does not know it
  std::string topic_prefix = "";
  std::string history_topic = "";
  std::string_view connector_class = kMySqlConnectorClass;
};

ConnectorIndex cluster_of(const std::vector<Seen>& seen) {
  ConnectorIndex index;
  for (const auto& s : seen) {
    ConnectorFacts f;
    f.namespace_name = s.key.substr(0, s.key.find('/'));
    f.name = s.key.substr(s.key.find('/') + 1);
    f.uid = s.uid;
    f.connector_class = std::string(s.connector_class);
    f.server_id = parse_server_id(s.server_id, !s.server_id.empty());
    if (!s.topic_prefix.empty()) f.topic_prefix = {s.topic_prefix, "topic.prefix", 0, false};
    if (!s.history_topic.empty())
      f.history_topic = {s.history_topic, "schema.history.internal.kafka.topic", 0, false};
    index.upsert(f);
  }
  return index;
}

// One registry entry a line, as flow maps, under rules that differ per table.
using Entries = std::vector<std::string>;

const std::string kRules = "  range: {from: 184000, to: 184999}\n  embargoDays: 30\n";
const std::string kPolicy =
    "teams:\n"
    "  - {name: team-a, namespaces: [ecommerce], range: {from: 184000, to: 184099}}\n"
    "  - {name: team-b, namespaces: [warehouse], range: {from: 184100, to: 184199}}\n"
    "reserved:\n"
    "  - {serverId: 184999, reason: \"MySQL primary server_id\"}\n";

Registry registry_of(const std::string& rules, const Entries& entries) {
  std::string text = "rules:\n" + rules + kPolicy + "entries:";
  if (entries.empty()) text += " []";
  for (const auto& e : entries) text += "\n  - " + e;
  return parse_registry(text + "\n", "in.yaml");
}

// The registry as the store would write it, for readable differences.
std::string written(const Registry& r) {
  return render_registry_yaml(r);
}

struct Blocked {
  std::string connector;
  AdoptionBlocker blocker;
  std::string names;  // what the reason must name (the holder, a day)
};

struct Case {
  const char* name;
  Entries in;
  std::vector<Seen> cluster;
  Entries out;
  std::vector<ReconcileChange> changes;  // in the order a pass makes them
  std::vector<Blocked> not_adopted = {};
  std::string rules = kRules;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

void expect_not_adopted(const std::vector<NotAdopted>& got, const std::vector<Blocked>& want,
                        const std::vector<Seen>& seen) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].connector, want[i].connector);
    EXPECT_EQ(to_string(got[i].blocker), to_string(want[i].blocker)) << got[i].reason;
    EXPECT_NE(got[i].reason.find(want[i].names), std::string::npos)
        << "\"" << got[i].reason << "\" should name " << want[i].names;
    for (const auto& s : seen) {
      if (s.key == want[i].connector) {
        EXPECT_EQ(std::to_string(got[i].server_id), s.server_id);
      }
    }
  }
}

class Reconcile : public testing::TestWithParam<Case> {};

TEST_P(Reconcile, MakesTheRegistryTrueToTheCluster) {
  const auto& c = GetParam();
  Registry r = registry_of(c.rules, c.in);
  const Registry before = r;
  const Registry expected = registry_of(c.rules, c.out);
  const ConnectorIndex cluster = cluster_of(c.cluster);

  const ReconcileReport report = reconcile(r, cluster, kNow, kUs);
  EXPECT_EQ(written(r), written(expected));
  EXPECT_EQ(report.changes, c.changes);
  EXPECT_EQ(report.changed(), !(before == r));
  expect_not_adopted(report.not_adopted, c.not_adopted, c.cluster);

  // What the store writes, and what the parser reads back.
  std::string text;
  ASSERT_NO_THROW(text = render_checked_registry_yaml(r));
  EXPECT_EQ(written(parse_registry(text, "out.yaml")), text);

  // A second pass finds nothing left to do, and blocks the same connectors.
  const Registry once = r;
  const ReconcileReport again = reconcile(r, cluster, kNow, kUs);
  EXPECT_EQ(again.changes, std::vector<ReconcileChange>{});
  EXPECT_FALSE(again.changed());
  EXPECT_EQ(written(r), written(once));
  ASSERT_EQ(again.not_adopted.size(), c.not_adopted.size());
  for (std::size_t i = 0; i < c.not_adopted.size(); ++i)
    EXPECT_EQ(again.not_adopted[i].connector, c.not_adopted[i].connector);
}

// Entries and connectors that recur in the tables. The connector is
// ecommerce/orders-cdc (team-a's namespace), this cluster is "us".
constexpr std::string_view kKey = "ecommerce/orders-cdc";
constexpr std::string_view kUid = "6f1c2a4e-0000-4000-8000-000000000001";
constexpr std::string_view kNewUid = "6f1c2a4e-0000-4000-8000-000000000002";

Seen orders(std::string server_id, std::string_view uid = kUid) {
  return Seen{std::string(kKey), std::move(server_id), std::string(uid)};
}

ReconcileChange change(ReconcileStep step, std::uint32_t id, std::string_view key = kKey) {
  return ReconcileChange{step, std::string(key), id};
}

// What steps 1, 4 and 5 write for orders-cdc seen with 184001.
const std::string kOursActive =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: 2026-11-20, "
    "cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}";
const std::string kAdopted =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: 2026-11-25, "
    "cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}";

// --- 1. confirm -----------------------------------------------------------------

const std::string kClaimOurs =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, claimUid: req-1, "
    "expiresAt: 2026-11-25T10:05:00Z, cluster: us}";
const std::string kClaimLapsed =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, claimUid: req-1, "
    "expiresAt: 2026-11-25T09:55:00Z, cluster: us}";
const std::string kConfirmed =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: 2026-11-25, "
    "cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}";

INSTANTIATE_TEST_SUITE_P(
    Confirm, Reconcile,
    testing::Values(
        Case{"ours_seen_with_the_id",
             {kClaimOurs},
             {orders("184001")},
             {kConfirmed},
             {change(ReconcileStep::Confirm, 184001)}},
        // Written before `cluster` existed, or by a webhook without one.
        Case{"unowned_seen_with_the_id",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T10:05:00Z}"},
             {orders("184001")},
             {kConfirmed},
             {change(ReconcileStep::Confirm, 184001)}},
        // The reconciler was late (a leader change): the connector runs the id
        // the admission granted, so the claim stands.
        Case{"lapsed_but_seen_with_the_id",
             {kClaimLapsed},
             {orders("184001")},
             {kConfirmed},
             {change(ReconcileStep::Confirm, 184001)}},
        Case{"seen_with_topic_facts",
             {kClaimOurs},
             {Seen{std::string(kKey), "184001", std::string(kUid), "shop", "schema-history.shop"}},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001, topicPrefix: shop, "
              "schemaHistoryTopic: schema-history.shop}"},
             {change(ReconcileStep::Confirm, 184001)}},
        Case{"seen_as_mariadb",
             {kClaimOurs},
             {Seen{std::string(kKey), "184001", std::string(kUid), "", "", kMariaDbConnectorClass}},
             {kConfirmed},
             {change(ReconcileStep::Confirm, 184001)}},
        Case{"not_seen_yet", {kClaimOurs}, {}, {kClaimOurs}, {}},
        // The update that claimed 184001 has not reached the cluster view: the
        // claim is left to settle, and the old id is not adopted over it.
        Case{"seen_with_another_id",
             {kClaimOurs},
             {orders("184002")},
             {kClaimOurs},
             {},
             {{std::string(kKey), AdoptionBlocker::ClaimInFlight, "184001"}}},
        Case{"seen_without_a_valid_id", {kClaimOurs}, {orders("${file:ids:orders}")}, {kClaimOurs}, {}},
        Case{"seen_as_a_non_binlog_class",
             {kClaimOurs},
             {Seen{std::string(kKey), "184001", std::string(kUid), "", "", kPostgres}},
             {kClaimOurs},
             {}},
        Case{
            "another_connector_runs_the_id",
            {kClaimOurs},
            {Seen{"ecommerce/other-cdc", "184001", std::string(kNewUid)}},
            {kClaimOurs},
            {},
            {{"ecommerce/other-cdc", AdoptionBlocker::HeldByEntry, "Pending entry of ecommerce/orders-cdc"}}},
        // Cluster eu's claim: only eu's reconciler may settle it, even when a
        // connector with the same key runs here.
        Case{"foreign_claim_untouched",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T10:05:00Z, cluster: eu}"},
             {orders("184001")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T10:05:00Z, cluster: eu}"},
             {},
             {{std::string(kKey), AdoptionBlocker::ForeignEntry, "cluster eu"}}}),
    testing_support::ScenarioName());

// --- 2. expire ------------------------------------------------------------------

INSTANTIATE_TEST_SUITE_P(
    Expire, Reconcile,
    testing::Values(
        Case{"lapsed_and_not_seen", {kClaimLapsed}, {}, {}, {change(ReconcileStep::Expire, 184001)}},
        Case{"lapsed_unowned_and_not_seen",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T09:55:00Z}"},
             {},
             {},
             {change(ReconcileStep::Expire, 184001)}},
        // The API server refused the update that claimed 184001: the claim
        // lapses, and the id the connector runs is written down.
        Case{"lapsed_and_seen_with_another_id",
             {kClaimLapsed},
             {orders("184002")},
             {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Expire, 184001), change(ReconcileStep::Adopt, 184002)}},
        Case{"lapses_at_expires_at",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T10:00:00Z, cluster: us}"},
             {},
             {},
             {change(ReconcileStep::Expire, 184001)}},
        Case{"live_and_not_seen", {kClaimOurs}, {}, {kClaimOurs}, {}},
        Case{"without_expires_at_never_lapses",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "cluster: "
              "us}"},
             {},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "cluster: "
              "us}"},
             {}},
        Case{"foreign_lapsed_claim_untouched",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T09:55:00Z, cluster: eu}"},
             {},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T09:55:00Z, cluster: eu}"},
             {}},
        // The parser counts every Pending entry as live, so eu's lapsed claim
        // still holds the id until eu's reconciler removes it.
        Case{"foreign_lapsed_claim_still_holds_its_id",
             {"{connector: ecommerce/other-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T09:55:00Z, cluster: eu}"},
             {orders("184001")},
             {"{connector: ecommerce/other-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
              "claimUid: "
              "req-1, expiresAt: 2026-11-25T09:55:00Z, cluster: eu}"},
             {},
             {{std::string(kKey), AdoptionBlocker::HeldByEntry, "ecommerce/other-cdc (cluster eu)"}}}),
    testing_support::ScenarioName());

// --- 3. decommission ------------------------------------------------------------

const std::string kRetired =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, owner: team-a, date: "
    "2026-11-20, decommissionedAt: 2026-11-25T10:00:00Z, cluster: us, uid: "
    "6f1c2a4e-0000-4000-8000-000000000001}";

INSTANTIATE_TEST_SUITE_P(
    Decommission, Reconcile,
    testing::Values(
        Case{"connector_deleted",
             {kOursActive},
             {},
             {kRetired},
             {change(ReconcileStep::Decommission, 184001)}},
        Case{
            "connector_deleted_keeps_topic_facts",
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
             "us, uid: u-1, topicPrefix: shop}"},
            {},
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2026-11-20, "
             "decommissionedAt: 2026-11-25T10:00:00Z, cluster: us, uid: u-1, topicPrefix: shop}"},
            {change(ReconcileStep::Decommission, 184001)}},
        // Deleted and created again with the same id: the old object's session
        // may linger, so its entry rests; the new object gets its own entry
        // (the embargo binds other connectors, not the same key).
        Case{"recreated_with_the_same_id",
             {kOursActive},
             {orders("184001", kNewUid)},
             {kRetired,
              "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000002}"},
             {change(ReconcileStep::Decommission, 184001), change(ReconcileStep::Adopt, 184001)}},
        Case{"recreated_with_another_id",
             {kOursActive},
             {orders("184002", kNewUid)},
             {kRetired,
              "{connector: ecommerce/orders-cdc, serverId: 184002, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000002}"},
             {change(ReconcileStep::Decommission, 184001), change(ReconcileStep::Adopt, 184002)}},
        Case{"recreated_as_a_non_binlog_class",
             {kOursActive},
             {Seen{std::string(kKey), "184001", std::string(kNewUid), "", "", kPostgres}},
             {kRetired},
             {change(ReconcileStep::Decommission, 184001)}},
        // The same object whose id is now a placeholder: it may still run
        // 184001, so the entry stays.
        Case{"same_object_without_a_valid_id",
             {kOursActive},
             {orders("${file:ids:orders}")},
             {kOursActive},
             {}},
        // This cluster never saw the object: its absence proves nothing.
        Case{
            "without_uid_never_decommissioned",
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
             "us}"},
            {},
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
             "us}"},
            {}},
        Case{"unowned_never_decommissioned",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, uid: "
              "u-1}"},
             {},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, uid: "
              "u-1}"},
             {}},
        // Two clusters share one registry: eu's connectors are not in this
        // cluster's view, and that must not retire their entries.
        Case{
            "other_clusters_entry_untouched",
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
             "eu, uid: u-1}",
             "{connector: warehouse/stock-cdc, serverId: 184101, status: Active, date: 2026-11-20, cluster: "
             "us, uid: u-2}"},
            {},
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
             "eu, uid: u-1}",
             "{connector: warehouse/stock-cdc, serverId: 184101, status: Decommissioned, date: 2026-11-20, "
             "decommissionedAt: 2026-11-25T10:00:00Z, cluster: us, uid: u-2}"},
            {change(ReconcileStep::Decommission, 184101, "warehouse/stock-cdc")}},
        Case{"reserved_not_decommissioned",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-11-20, "
              "cluster: "
              "us, uid: u-1}"},
             {},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-11-20, "
              "cluster: "
              "us, uid: u-1}"},
             {}},
        Case{"already_decommissioned_keeps_its_date",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2026-11-20, "
              "decommissionedAt: 2026-11-21T08:00:00Z, cluster: us, uid: u-1}"},
             {},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2026-11-20, "
              "decommissionedAt: 2026-11-21T08:00:00Z, cluster: us, uid: u-1}"},
             {}}),
    testing_support::ScenarioName());

// --- 4. adopt -------------------------------------------------------------------

INSTANTIATE_TEST_SUITE_P(
    Adopt, Reconcile,
    testing::Values(
        // Created before cdc-guard was installed, or while the webhook was off.
        Case{"unrecorded_connector",
             {},
             {orders("184001")},
             {kAdopted},
             {change(ReconcileStep::Adopt, 184001)}},
        Case{"unrecorded_with_topic_facts",
             {},
             {Seen{std::string(kKey), "184001", std::string(kUid), "shop", "schema-history.shop"}},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001, topicPrefix: shop, "
              "schemaHistoryTopic: schema-history.shop}"},
             {change(ReconcileStep::Adopt, 184001)}},
        Case{
            "namespace_without_a_team",
            {},
            {Seen{"analytics/events-cdc", "184500", "u-9"}},
            {"{connector: analytics/events-cdc, serverId: 184500, status: Active, date: 2026-11-25, cluster: "
             "us, uid: u-9}"},
            {change(ReconcileStep::Adopt, 184500, "analytics/events-cdc")}},
        // The registry records what runs; the audit reports the range.
        Case{"id_outside_the_range",
             {},
             {orders("5500")},
             {"{connector: ecommerce/orders-cdc, serverId: 5500, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Adopt, 5500)}},
        Case{"another_connectors_embargo_over",
             {"{connector: warehouse/stock-cdc, serverId: 184001, status: Decommissioned, date: 2026-09-01, "
              "decommissionedAt: 2026-10-26T10:00:00Z}"},
             {orders("184001")},
             {"{connector: warehouse/stock-cdc, serverId: 184001, status: Decommissioned, date: 2026-09-01, "
              "decommissionedAt: 2026-10-26T10:00:00Z}",
              kAdopted},
             {change(ReconcileStep::Adopt, 184001)}},
        Case{"own_decommissioned_entry_is_no_bar",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2026-09-01, "
              "decommissionedAt: 2026-11-24T10:00:00Z}"},
             {orders("184001")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2026-09-01, "
              "decommissionedAt: 2026-11-24T10:00:00Z}",
              kAdopted},
             {change(ReconcileStep::Adopt, 184001)}},
        Case{"reserved_id",
             {},
             {orders("184999")},
             {},
             {},
             {{std::string(kKey), AdoptionBlocker::Reserved, "MySQL primary server_id"}}},
        Case{"held_by_another_connectors_entry",
             {"{connector: ecommerce/other-cdc, serverId: 184001, status: Active, date: 2026-11-20}"},
             {orders("184001")},
             {"{connector: ecommerce/other-cdc, serverId: 184001, status: Active, date: 2026-11-20}"},
             {},
             {{std::string(kKey), AdoptionBlocker::HeldByEntry, "Active entry of ecommerce/other-cdc"}}},
        Case{"held_by_another_clusters_entry",
             {"{connector: ecommerce/other-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
              "eu, uid: u-1}"},
             {orders("184001")},
             {"{connector: ecommerce/other-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
              "eu, uid: u-1}"},
             {},
             {{std::string(kKey), AdoptionBlocker::HeldByEntry, "ecommerce/other-cdc (cluster eu)"}}},
        Case{"held_by_a_reserved_entry",
             {"{connector: ecommerce/other-cdc, serverId: 184001, status: Reserved, date: 2026-11-20}"},
             {orders("184001")},
             {"{connector: ecommerce/other-cdc, serverId: 184001, status: Reserved, date: 2026-11-20}"},
             {},
             {{std::string(kKey), AdoptionBlocker::HeldByEntry, "Reserved entry of ecommerce/other-cdc"}}},
        Case{"embargoed_by_another_connector",
             {"{connector: warehouse/stock-cdc, serverId: 184001, status: Decommissioned, date: 2026-09-01, "
              "decommissionedAt: 2026-11-10T12:00:00Z}"},
             {orders("184001")},
             {"{connector: warehouse/stock-cdc, serverId: 184001, status: Decommissioned, date: 2026-09-01, "
              "decommissionedAt: 2026-11-10T12:00:00Z}"},
             {},
             {{std::string(kKey), AdoptionBlocker::Embargoed, "until 2026-12-10T12:00:00Z"}}},
        Case{"embargoed_names_the_retired_connector",
             {"{connector: warehouse/stock-cdc, serverId: 184001, status: Decommissioned, date: 2026-09-01, "
              "decommissionedAt: 2026-11-10T12:00:00Z, cluster: eu}"},
             {orders("184001")},
             {"{connector: warehouse/stock-cdc, serverId: 184001, status: Decommissioned, date: 2026-09-01, "
              "decommissionedAt: 2026-11-10T12:00:00Z, cluster: eu}"},
             {},
             {{std::string(kKey), AdoptionBlocker::Embargoed, "warehouse/stock-cdc (cluster eu)"}}},
        // Two connectors here run one id: which one is right is a person's
        // call, so neither is written down and each names the other.
        Case{"two_connectors_run_one_id",
             {},
             {orders("184001"), Seen{"ecommerce/other-cdc", "184001", std::string(kNewUid)}},
             {},
             {},
             {{"ecommerce/orders-cdc", AdoptionBlocker::SharedInCluster, "ecommerce/other-cdc"},
              {"ecommerce/other-cdc", AdoptionBlocker::SharedInCluster, "ecommerce/orders-cdc"}}},
        Case{"a_non_binlog_connector_is_ignored",
             {},
             {Seen{"ecommerce/pg-cdc", "184001", "u-3", "pg", "", kPostgres}, orders("184001")},
             {kAdopted},
             {change(ReconcileStep::Adopt, 184001)}},
        Case{"a_connector_without_an_id_is_ignored",
             {},
             {Seen{"ecommerce/a-cdc", "", "u-1"}, Seen{"ecommerce/b-cdc", "auto", "u-2"}},
             {},
             {}},
        // One namespace/name in two clusters is one registry key.
        Case{
            "key_held_by_another_cluster",
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
             "eu, uid: u-1}"},
            {orders("184001")},
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: "
             "eu, uid: u-1}"},
            {},
            {{std::string(kKey), AdoptionBlocker::ForeignEntry, "cluster eu"}}},
        Case{"key_the_registry_cannot_hold",
             {},
             {Seen{"Ecommerce/orders-cdc", "184001", "u-1"}},
             {},
             {},
             {{"Ecommerce/orders-cdc", AdoptionBlocker::InvalidKey, "DNS-1123"}}},
        // The connector now runs another id: the new one is written down, the
        // old one rests (claim_id retires it, as for an admitted update).
        Case{"moved_to_a_free_id",
             {kOursActive},
             {orders("184002")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, owner: team-a, "
              "date: "
              "2026-11-20, decommissionedAt: 2026-11-25T10:00:00Z, cluster: us, uid: "
              "6f1c2a4e-0000-4000-8000-000000000001}",
              "{connector: ecommerce/orders-cdc, serverId: 184002, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Decommission, 184001), change(ReconcileStep::Adopt, 184002)}},
        Case{"unowned_entry_moved_to_a_free_id",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Active, owner: "
              "team-a, "
              "date: 2026-01-15}"},
             {orders("184002")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Decommissioned, "
              "owner: "
              "team-a, date: 2026-01-15, decommissionedAt: 2026-11-25T10:00:00Z}",
              "{connector: ecommerce/orders-cdc, serverId: 184002, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Decommission, 184001), change(ReconcileStep::Adopt, 184002)}},
        Case{"reserved_entry_deployed_with_another_id",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-01-15}"},
             {orders("184002")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2026-01-15, "
              "decommissionedAt: 2026-11-25T10:00:00Z}",
              "{connector: ecommerce/orders-cdc, serverId: 184002, status: Active, owner: team-a, date: "
              "2026-11-25, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Decommission, 184001), change(ReconcileStep::Adopt, 184002)}},
        Case{"moved_to_a_taken_id",
             {kOursActive,
              "{connector: ecommerce/other-cdc, serverId: 184002, status: Active, date: 2026-11-20}"},
             {orders("184002")},
             {kOursActive,
              "{connector: ecommerce/other-cdc, serverId: 184002, status: Active, date: 2026-11-20}"},
             {},
             {{std::string(kKey), AdoptionBlocker::HeldByEntry, "ecommerce/other-cdc"}}},
        // Adoptions in one pass see each other: other-cdc moves off 184001
        // (sorted first), which then rests, so orders-cdc does not get it.
        Case{"a_move_in_the_same_pass_embargoes_the_old_id",
             {"{connector: ecommerce/a-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: us, "
              "uid: "
              "u-1}"},
             {Seen{"ecommerce/a-cdc", "184003", "u-1"}, orders("184001")},
             {"{connector: ecommerce/a-cdc, serverId: 184001, status: Decommissioned, date: 2026-11-20, "
              "decommissionedAt: 2026-11-25T10:00:00Z, cluster: us, uid: u-1}",
              "{connector: ecommerce/a-cdc, serverId: 184003, status: Active, owner: team-a, date: "
              "2026-11-25, "
              "cluster: us, uid: u-1}"},
             {change(ReconcileStep::Decommission, 184001, "ecommerce/a-cdc"),
              change(ReconcileStep::Adopt, 184003, "ecommerce/a-cdc")},
             {{std::string(kKey), AdoptionBlocker::Embargoed, "ecommerce/a-cdc"}}}),
    testing_support::ScenarioName());

// --- 5. own and refresh ---------------------------------------------------------

INSTANTIATE_TEST_SUITE_P(
    Own, Reconcile,
    testing::Values(
        Case{"hand_written_active_entry",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Active, owner: "
              "team-a, "
              "date: 2026-01-15}"},
             {orders("184001")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Active, owner: "
              "team-a, "
              "date: 2026-01-15, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Own, 184001)}},
        // Documented before deployment, now deployed.
        Case{"reserved_entry_deployed",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Reserved, owner: "
              "team-a, date: 2026-01-15}"},
             {orders("184001")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Active, owner: "
              "team-a, "
              "date: 2026-01-15, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Own, 184001)}},
        Case{"reserved_entry_of_this_cluster_deployed",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-01-15, "
              "cluster: "
              "us}"},
             {orders("184001")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-01-15, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Own, 184001)}},
        Case{"reserved_entry_not_deployed_yet",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-01-15}"},
             {},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-01-15}"},
             {}},
        // A person's owner stays, even when the namespace's team differs.
        Case{"hand_written_owner_kept",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-b, date: "
              "2026-01-15}"},
             {orders("184001")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-b, date: "
              "2026-01-15, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001}"},
             {change(ReconcileStep::Own, 184001)}},
        Case{"hand_written_active_entry_seen_without_uid",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-01-15}"},
             {orders("184001", "")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-01-15, cluster: us}"},
             {change(ReconcileStep::Own, 184001)}},
        Case{"up_to_date", {kOursActive}, {orders("184001")}, {kOursActive}, {}},
        Case{"stale_topic_facts_refreshed",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-11-20, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001, topicPrefix: shop, "
              "topicDelimiter: _, schemaHistoryTopic: schema-history.shop}"},
             {Seen{std::string(kKey), "184001", std::string(kUid), "shop2", "schema-history.shop2"}},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-11-20, cluster: us, uid: 6f1c2a4e-0000-4000-8000-000000000001, topicPrefix: shop2, "
              "schemaHistoryTopic: schema-history.shop2}"},
             {change(ReconcileStep::Refresh, 184001)}},
        // A claim written Active by a webhook that knew the cluster but not the object.
        Case{"missing_uid_recorded",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: "
              "2026-11-20, cluster: us}"},
             {orders("184001")},
             {kOursActive},
             {change(ReconcileStep::Refresh, 184001)}},
        Case{"another_clusters_entry_not_owned",
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-01-15, "
              "cluster: "
              "eu}"},
             {orders("184001")},
             {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-01-15, "
              "cluster: "
              "eu}"},
             {},
             {{std::string(kKey), AdoptionBlocker::ForeignEntry, "cluster eu"}}}),
    testing_support::ScenarioName());

// --- 6. history -----------------------------------------------------------------

// Kept 90 days, and never before the embargo (30 days unless the rules say more).
const std::string kHistory90 = kRules + "  historyDays: 90\n";

std::string retired_at(const std::string& when, const std::string& cluster = "") {
  return "{connector: warehouse/stock-cdc, serverId: 184101, status: Decommissioned, date: 2025-01-01, "
         "decommissionedAt: " +
         when + (cluster.empty() ? "" : ", cluster: " + cluster) + "}";
}

const ReconcileChange kPruned = change(ReconcileStep::Prune, 184101, "warehouse/stock-cdc");

INSTANTIATE_TEST_SUITE_P(
    History, Reconcile,
    testing::Values(
        Case{"older_than_history_days_pruned",
             {retired_at("2026-08-01T00:00:00Z")},
             {},
             {},
             {kPruned},
             {},
             kHistory90},
        Case{"exactly_history_days_old_pruned",
             {retired_at("2026-08-27T10:00:00Z")},
             {},
             {},
             {kPruned},
             {},
             kHistory90},
        Case{"a_second_younger_kept",
             {retired_at("2026-08-27T10:00:01Z")},
             {},
             {retired_at("2026-08-27T10:00:01Z")},
             {},
             {},
             kHistory90},
        Case{"ours_pruned", {retired_at("2026-08-01T00:00:00Z", "us")}, {}, {}, {kPruned}, {}, kHistory90},
        // Without decommissionedAt the embargo, and so the history, runs from the date.
        Case{"dated_only_pruned",
             {"{connector: warehouse/stock-cdc, serverId: 184101, status: Decommissioned, date: 2026-08-01}"},
             {},
             {},
             {kPruned},
             {},
             kHistory90},
        Case{"another_clusters_history_kept",
             {retired_at("2026-08-01T00:00:00Z", "eu")},
             {},
             {retired_at("2026-08-01T00:00:00Z", "eu")},
             {},
             {},
             kHistory90},
        Case{"kept_for_ever_without_history_days",
             {retired_at("2020-01-01T00:00:00Z")},
             {},
             {retired_at("2020-01-01T00:00:00Z")},
             {}},
        // The entry is what keeps the id resting: a history shorter than the
        // embargo does not end it early.
        Case{"never_inside_the_embargo",
             {retired_at("2026-09-26T10:00:00Z")},
             {},
             {retired_at("2026-09-26T10:00:00Z")},
             {},
             {},
             "  range: {from: 184000, to: 184999}\n  embargoDays: 61\n  historyDays: 10\n"},
        Case{"pruned_when_the_embargo_ends",
             {retired_at("2026-09-26T10:00:00Z")},
             {},
             {},
             {kPruned},
             {},
             "  range: {from: 184000, to: 184999}\n  embargoDays: 60\n  historyDays: 10\n"},
        Case{"live_entries_never_pruned",
             {"{connector: warehouse/stock-cdc, serverId: 184101, status: Active, date: 2020-01-01}"},
             {},
             {"{connector: warehouse/stock-cdc, serverId: 184101, status: Active, date: 2020-01-01}"},
             {},
             {},
             kHistory90},
        // With no history and no embargo an entry retired in this pass goes in
        // the same pass, so a second pass has nothing left to prune.
        Case{"retired_and_pruned_in_one_pass",
             {kOursActive},
             {},
             {},
             {change(ReconcileStep::Decommission, 184001), change(ReconcileStep::Prune, 184001)},
             {},
             "  range: {from: 184000, to: 184999}\n  embargoDays: 0\n  historyDays: 0\n"}),
    testing_support::ScenarioName());

// --- across passes and clusters -------------------------------------------------

// Two clusters share one registry; each reconciles its own entries against
// its own connectors and leaves the other's alone.
TEST(ReconcileClusters, EachClusterKeepsToItsOwnEntries) {
  Registry r = registry_of(
      kRules,
      {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: 2026-11-20, "
       "cluster: eu, uid: u-eu}",
       "{connector: warehouse/stock-cdc, serverId: 184101, status: Active, date: 2026-11-20, cluster: us, "
       "uid: u-us}"});
  // us runs neither connector; eu runs orders-cdc only.
  const ReconcileReport us = reconcile(r, cluster_of({}), kNow, ReconcileOptions{"us", {}});
  EXPECT_EQ(
      us.changes,
      (std::vector<ReconcileChange>{change(ReconcileStep::Decommission, 184101, "warehouse/stock-cdc")}));
  const ReconcileReport eu =
      reconcile(r, cluster_of({orders("184001", "u-eu")}), kNow, ReconcileOptions{"eu", {}});
  EXPECT_EQ(eu.changes, std::vector<ReconcileChange>{});
  EXPECT_EQ(written(r), written(registry_of(
                            kRules, {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, "
                                     "owner: team-a, date: 2026-11-20, cluster: eu, uid: u-eu}",
                                     "{connector: warehouse/stock-cdc, serverId: 184101, status: "
                                     "Decommissioned, date: 2026-11-20, decommissionedAt: "
                                     "2026-11-25T10:00:00Z, cluster: us, uid: u-us}"})));
}

// serve --namespaces: the view holds only those namespaces, so an entry of a
// connector elsewhere is left alone even when it is this cluster's (its
// connector may well run), and a lapsed claim there is not this view's to expire.
TEST(ReconcileNamespaces, EntriesOutsideTheWatchedNamespacesAreLeftAlone) {
  Registry r = registry_of(
      kRules,
      {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-20, cluster: us, "
       "uid: u-1}",
       "{connector: warehouse/stock-cdc, serverId: 184101, status: Active, date: 2026-11-20, cluster: us, "
       "uid: u-2}",
       "{connector: warehouse/old-cdc, serverId: 184102, status: Pending, date: 2026-11-20, cluster: us, "
       "claimUid: req-1, expiresAt: 2026-11-20T00:05:00Z}"});
  const std::string before = written(r);
  // Only ecommerce is watched, and orders-cdc is gone from it.
  const ReconcileReport report = reconcile(r, cluster_of({}), kNow, ReconcileOptions{"us", {"ecommerce"}});
  EXPECT_EQ(
      report.changes,
      (std::vector<ReconcileChange>{change(ReconcileStep::Decommission, 184001, "ecommerce/orders-cdc")}));
  // Watching every namespace, the same view also decommissions stock-cdc and expires the claim.
  Registry all = parse_registry(before, "before.yaml");
  const ReconcileReport everywhere = reconcile(all, cluster_of({}), kNow, kUs);
  EXPECT_EQ(everywhere.count(ReconcileStep::Decommission), 2u);
  EXPECT_EQ(everywhere.count(ReconcileStep::Expire), 1u);
}

// A connector's life, pass by pass: claimed, confirmed, deleted, and its id
// free for another connector once the embargo is over.
TEST(ReconcilePasses, AConnectorsLife) {
  Registry r = registry_of(kRules, {kClaimOurs});
  const auto running = cluster_of({orders("184001")});
  EXPECT_EQ(reconcile(r, running, kNow, kUs).count(ReconcileStep::Confirm), 1u);

  const TimePoint deleted = kNow + std::chrono::hours{1};
  EXPECT_EQ(reconcile(r, cluster_of({}), deleted, kUs).count(ReconcileStep::Decommission), 1u);

  const auto successor = cluster_of({Seen{"ecommerce/next-cdc", "184001", "u-next"}});
  const ReconcileReport early = reconcile(r, successor, deleted + std::chrono::days{29}, kUs);
  ASSERT_EQ(early.not_adopted.size(), 1u);
  EXPECT_EQ(early.not_adopted[0].blocker, AdoptionBlocker::Embargoed);
  EXPECT_FALSE(early.changed());

  const ReconcileReport late = reconcile(r, successor, deleted + std::chrono::days{30}, kUs);
  EXPECT_EQ(late.changes,
            (std::vector<ReconcileChange>{change(ReconcileStep::Adopt, 184001, "ecommerce/next-cdc")}));
  EXPECT_EQ(late.not_adopted.size(), 0u);
  EXPECT_NO_THROW(render_checked_registry_yaml(r));
}

TEST(ReconcileReport, CountsEachStep) {
  Registry r = registry_of(kRules, {kClaimOurs,
                                    "{connector: ecommerce/gone-cdc, serverId: 184002, status: Active, "
                                    "date: 2026-11-20, cluster: us, uid: u-2}"});
  const ReconcileReport report =
      reconcile(r, cluster_of({orders("184001"), Seen{"ecommerce/new-cdc", "184003", "u-3"}}), kNow, kUs);
  EXPECT_EQ(report.count(ReconcileStep::Confirm), 1u);
  EXPECT_EQ(report.count(ReconcileStep::Decommission), 1u);
  EXPECT_EQ(report.count(ReconcileStep::Adopt), 1u);
  EXPECT_EQ(report.count(ReconcileStep::Expire), 0u);
  EXPECT_EQ(report.changes.size(), 3u);
  EXPECT_TRUE(report.changed());
}

// The cluster name is written into entries, so one the registry cannot hold
// is refused before anything is changed.
TEST(ReconcileOptions, ClusterNameMustBeWritable) {
  for (const std::string& name : std::vector<std::string>{"", "prod eu", std::string(64, 'a')}) {
    Registry r = registry_of(kRules, {kClaimOurs});
    const Registry before = r;
    EXPECT_THROW(reconcile(r, cluster_of({orders("184001")}), kNow, ReconcileOptions{name, {}}),
                 std::invalid_argument)
        << name;
    EXPECT_EQ(r, before);
  }
  EXPECT_EQ(ReconcileOptions{}.cluster_name, "default");
}

// A uid the registry could not hold is left out, not written.
TEST(ReconcileOptions, UnwritableUidLeftOut) {
  Registry r = registry_of(kRules, {});
  reconcile(r, cluster_of({orders("184001", "not a uid")}), kNow, kUs);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].uid, "");
  EXPECT_NO_THROW(render_checked_registry_yaml(r));
}

// --- registry import (import_only) -----------------------------------------------

const ReconcileOptions kImport{"us", {}, true};

// An import adds entries for connectors with free ids and changes nothing
// else: a lapsed claim stays, a Decommissioned entry stays, a connector whose
// entry holds another id and connectors sharing a history topic are listed.
TEST(ReconcileImportOnly, AddsEntriesAndChangesNothingElse) {
  Registry r = registry_of(
      kRules, {"{connector: ecommerce/gone-cdc, serverId: 184030, status: Pending, date: 2026-11-25, "
               "claimUid: req-9, expiresAt: 2026-11-25T09:55:00Z, cluster: us}",
               "{connector: ecommerce/moved-cdc, serverId: 184010, status: Active, cluster: us, "
               "uid: 6f1c2a4e-0000-4000-8000-000000000010}",
               "{connector: ecommerce/old-cdc, serverId: 184020, status: Decommissioned, date: 2026-01-01, "
               "decommissionedAt: 2026-01-01T00:00:00Z, cluster: us}"});
  const Registry before = r;
  const ConnectorIndex cluster = cluster_of(
      {orders("184001"), Seen{"ecommerce/moved-cdc", "184011", "6f1c2a4e-0000-4000-8000-000000000010"},
       Seen{"warehouse/stock-cdc", "184101", "", "stock", "schema-history.shared"},
       Seen{"warehouse/parts-cdc", "184102", "", "parts", "schema-history.shared"},
       Seen{"warehouse/dup-a", "184150", ""}, Seen{"warehouse/dup-b", "184150", ""},
       Seen{"warehouse/pg", "184160", "", "", "", kPostgres}});
  const ReconcileReport report = reconcile(r, cluster, kNow, kImport);
  EXPECT_EQ(report.changes, (std::vector<ReconcileChange>{change(ReconcileStep::Adopt, 184001)}));
  ASSERT_EQ(r.entries.size(), before.entries.size() + 1);
  for (std::size_t i = 0; i < before.entries.size(); ++i) EXPECT_EQ(r.entries[i], before.entries[i]);
  const RegistryEntry& added = r.entries.back();
  EXPECT_EQ(added.connector, kKey);
  EXPECT_EQ(added.server_id, 184001u);
  EXPECT_EQ(added.status, EntryStatus::Active);
  EXPECT_EQ(added.owner, "team-a");
  EXPECT_EQ(added.cluster, "us");
  expect_not_adopted(report.not_adopted,
                     {{"ecommerce/moved-cdc", AdoptionBlocker::RegisteredWithOtherId, "184010"},
                      {"warehouse/dup-a", AdoptionBlocker::SharedInCluster, "warehouse/dup-b"},
                      {"warehouse/dup-b", AdoptionBlocker::SharedInCluster, "warehouse/dup-a"},
                      {"warehouse/parts-cdc", AdoptionBlocker::SharedHistoryTopic, "warehouse/stock-cdc"},
                      {"warehouse/stock-cdc", AdoptionBlocker::SharedHistoryTopic, "warehouse/parts-cdc"}},
                     {});

  // Run again: nothing more to import.
  const ReconcileReport again = reconcile(r, cluster, kNow, kImport);
  EXPECT_FALSE(again.changed());
  EXPECT_EQ(again.not_adopted.size(), report.not_adopted.size());
}

}  // namespace
}  // namespace cdcguard
