// The claim rules (claims.hpp), registry in, registry out: what /validate,
// /mutate and the reconciler write down when a connector claims a server id.
// Every registry out must also be one the parser reads back.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/policy/claims.hpp"
#include "cdcguard/policy/registry_index.hpp"
#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

const TimePoint kNow = *parse_timestamp("2026-11-25T10:00:00Z");

constexpr std::string_view kKey = "ecommerce/orders-cdc";
constexpr std::string_view kPostgres = "io.debezium.connector.postgresql.PostgresConnector";

// Claims in a cluster lapse after five minutes: 2026-11-25T10:05:00Z.
// NamedCluster: a cluster run with --cluster-name prod-eu.
enum class Mode { Standalone, Cluster, NamedCluster };

ClaimStyle style_for(Mode mode) {
  return ClaimStyle{mode != Mode::Standalone, std::chrono::seconds{300}, "req-1",
                    mode == Mode::NamedCluster ? "prod-eu" : ""};
}

// The topic facts of the connector that claims (ecommerce/orders-cdc).
struct Topics {
  std::string prefix;  // "" = none
  std::string delimiter = ".";
  std::string history;        // "" = none
  std::string history_class;  // "" = Kafka-backed (Debezium's default)
};

const Topics kNoTopics{};
const Topics kShopTopics{"shop", ".", "schema-history.shop", ""};

ConnectorFacts connector_of(std::string_view server_id, std::string_view connector_class,
                            const Topics& topics) {
  ConnectorFacts f;
  f.namespace_name = "ecommerce";
  f.name = "orders-cdc";
  f.connector_class = std::string(connector_class);
  f.server_id = parse_server_id(server_id, !server_id.empty());
  if (!topics.prefix.empty()) f.topic_prefix = {topics.prefix, "topic.prefix", 0, false};
  f.topic_delimiter = topics.delimiter;
  if (!topics.history.empty())
    f.history_topic = {topics.history, "schema.history.internal.kafka.topic", 0, false};
  f.history_class = topics.history_class;
  return f;
}

// One registry entry a line, as flow maps.
using Entries = std::vector<std::string>;

Registry registry_of(const Entries& entries) {
  std::string text = "rules:\n  range: {from: 184000, to: 184999}\nentries:";
  if (entries.empty()) text += " []";
  for (const auto& e : entries) text += "\n  - " + e;
  return parse_registry(text + "\n", "in.yaml");
}

// The registry as the store would write it, for readable differences.
std::string written(const Registry& r) {
  return render_registry_yaml(r);
}

// Entries that recur in the tables.
const std::string kActive =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15}";
const std::string kLivePending =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, claimUid: req-0, "
    "expiresAt: 2026-11-25T10:03:00Z}";
const std::string kLapsedPending =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, claimUid: req-0, "
    "expiresAt: 2026-11-25T09:55:00Z}";
const std::string kNewActive =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-25}";
const std::string kNewPending =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, claimUid: req-1, "
    "expiresAt: 2026-11-25T10:05:00Z}";

// --- claim_id ---------------------------------------------------------------

struct ClaimCase {
  const char* name;
  Mode mode;
  Entries in;
  std::uint32_t id;  // claimed by kKey
  Entries out;
  Topics topics = kNoTopics;  // the claiming connector's
};

void PrintTo(const ClaimCase& c, std::ostream* os) {
  *os << c.name;
}

class ClaimId : public testing::TestWithParam<ClaimCase> {};

TEST_P(ClaimId, WritesTheIdDownAsTheKeysClaim) {
  const auto& c = GetParam();
  Registry r = registry_of(c.in);
  const Registry expected = registry_of(c.out);
  const bool expect_change = !(registry_of(c.in) == expected);
  const ConnectorFacts connector = connector_of(std::to_string(c.id), kMySqlConnectorClass, c.topics);
  ASSERT_EQ(connector.key(), kKey);
  EXPECT_EQ(claim_id(r, connector, c.id, kNow, style_for(c.mode)), expect_change);
  EXPECT_EQ(written(r), written(expected));
  EXPECT_EQ(registry_problems(r), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(
    Claims, ClaimId,
    testing::Values(
        // Standalone nothing confirms a claim: Active, without the request's uid
        // (issue 11: /mutate once wrote an Active entry with a claimUid).
        ClaimCase{"new_claim_standalone", Mode::Standalone, {}, 184001, {kNewActive}},
        ClaimCase{"new_claim_in_a_cluster", Mode::Cluster, {}, 184001, {kNewPending}},
        ClaimCase{"same_id_active_standalone_unchanged", Mode::Standalone, {kActive}, 184001, {kActive}},
        // A claim never turns an Active entry back into a Pending one.
        ClaimCase{"same_id_active_in_a_cluster_unchanged", Mode::Cluster, {kActive}, 184001, {kActive}},
        // A retry keeps the first claim: its uid and its expiry.
        ClaimCase{"live_pending_settled_in_a_cluster", Mode::Cluster, {kLivePending}, 184001, {kLivePending}},
        ClaimCase{"live_pending_taken_standalone",
                  Mode::Standalone,
                  {kLivePending},
                  184001,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-25}"}},
        ClaimCase{
            "reserved_taken_standalone",
            Mode::Standalone,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Reserved, owner: "
             "team-a, date: 2026-01-15}"},
            184001,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Active, owner: "
             "team-a, date: 2026-01-15}"}},
        ClaimCase{
            "reserved_taken_in_a_cluster",
            Mode::Cluster,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Reserved, owner: "
             "team-a, date: 2026-01-15}"},
            184001,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Pending, owner: "
             "team-a, date: 2026-01-15, claimUid: req-1, expiresAt: 2026-11-25T10:05:00Z}"}},
        ClaimCase{
            "id_change_standalone",
            Mode::Standalone,
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Active, date: 2026-01-15}"},
            184001,
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Decommissioned, date: 2026-01-15, "
             "decommissionedAt: 2026-11-25T10:00:00Z}",
             kNewActive}},
        ClaimCase{
            "id_change_in_a_cluster",
            Mode::Cluster,
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Pending, date: 2026-11-25, "
             "claimUid: "
             "req-0, expiresAt: 2026-11-25T10:03:00Z}"},
            184001,
            // The old claim keeps its claimUid and expiresAt (as today; nothing reads them
            // on a Decommissioned entry).
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Decommissioned, date: 2026-11-25, "
             "decommissionedAt: 2026-11-25T10:00:00Z, claimUid: req-0, expiresAt: 2026-11-25T10:03:00Z}",
             kNewPending}},
        ClaimCase{
            "id_change_from_a_reservation",
            Mode::Standalone,
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Reserved, date: 2026-01-15}"},
            184001,
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Decommissioned, date: 2026-01-15, "
             "decommissionedAt: 2026-11-25T10:00:00Z}",
             kNewActive}},
        // A lapsed claim holds nothing, yet the parser counts it as live: left
        // next to the new claim, the registry could not be read back.
        ClaimCase{"lapsed_pending_on_the_id_by_another_key_removed",
                  Mode::Cluster,
                  {"{connector: ecommerce/other-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
                   "claimUid: "
                   "req-0, expiresAt: 2026-11-25T09:55:00Z}"},
                  184001,
                  {kNewPending}},
        ClaimCase{"lapsed_pending_of_the_key_removed",
                  Mode::Standalone,
                  {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Pending, date: 2026-11-25, "
                   "claimUid: "
                   "req-0, expiresAt: 2026-11-25T09:55:00Z}"},
                  184001,
                  {kNewActive}},
        ClaimCase{"lapsed_pending_of_the_key_on_the_id_claimed_anew",
                  Mode::Cluster,
                  {kLapsedPending},
                  184001,
                  {kNewPending}},
        ClaimCase{"pending_expiring_now_has_lapsed",
                  Mode::Cluster,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
                   "claimUid: "
                   "req-0, expiresAt: 2026-11-25T10:00:00Z}"},
                  184001,
                  {kNewPending}},
        // Only lapsed claims on this id or of this key make way.
        ClaimCase{
            "other_entries_kept",
            Mode::Standalone,
            {"{connector: ecommerce/other-cdc, serverId: 184003, status: Pending, date: 2026-11-25, "
             "claimUid: "
             "req-0, expiresAt: 2026-11-25T09:55:00Z}",
             "{connector: ecommerce/stock-cdc, serverId: 184004, status: Active, date: 2026-01-15}",
             "{connector: ecommerce/orders-cdc, serverId: 184000, status: Decommissioned, date: 2025-01-15, "
             "decommissionedAt: 2026-10-01}"},
            184001,
            {"{connector: ecommerce/other-cdc, serverId: 184003, status: Pending, date: 2026-11-25, "
             "claimUid: "
             "req-0, expiresAt: 2026-11-25T09:55:00Z}",
             "{connector: ecommerce/stock-cdc, serverId: 184004, status: Active, date: 2026-01-15}",
             "{connector: ecommerce/orders-cdc, serverId: 184000, status: Decommissioned, date: 2025-01-15, "
             "decommissionedAt: 2026-10-01}",
             kNewActive}},
        // The key's own decommissioned id comes back as a new entry; the old
        // one stays as history.
        ClaimCase{
            "own_decommissioned_id_claimed_again",
            Mode::Standalone,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2025-01-15, "
             "decommissionedAt: 2026-10-01}"},
            184001,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2025-01-15, "
             "decommissionedAt: 2026-10-01}",
             kNewActive}},
        // --- the topic facts and the cluster (issue 11) ---
        ClaimCase{"new_claim_records_the_topics",
                  Mode::Standalone,
                  {},
                  184001,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-25, "
                   "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                  kShopTopics},
        ClaimCase{"new_claim_in_a_named_cluster_names_it",
                  Mode::NamedCluster,
                  {},
                  184001,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
                   "claimUid: req-1, expiresAt: 2026-11-25T10:05:00Z, topicPrefix: shop, "
                   "schemaHistoryTopic: schema-history.shop, cluster: prod-eu}"},
                  kShopTopics},
        // An entry written by hand, or before entries recorded topics, gets them.
        ClaimCase{"settled_entry_without_topics_gets_them",
                  Mode::Cluster,
                  {kActive},
                  184001,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                   "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                  kShopTopics},
        ClaimCase{"stale_topics_brought_up_to_date",
                  Mode::Standalone,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                   "topicPrefix: old, topicDelimiter: _, schemaHistoryTopic: schema-history.old}"},
                  184001,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                   "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                  kShopTopics},
        ClaimCase{"current_topics_unchanged",
                  Mode::Standalone,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                   "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                  184001,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                   "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                  kShopTopics},
        // A retry keeps the first claim's uid, expiry and cluster; only the topics move.
        ClaimCase{"live_pending_retry_updates_only_the_topics",
                  Mode::NamedCluster,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
                   "claimUid: req-0, expiresAt: 2026-11-25T10:03:00Z, cluster: prod-us}"},
                  184001,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
                   "claimUid: req-0, expiresAt: 2026-11-25T10:03:00Z, cluster: prod-us, topicPrefix: shop, "
                   "schemaHistoryTopic: schema-history.shop}"},
                  kShopTopics},
        ClaimCase{
            "reserved_claimed_in_a_named_cluster",
            Mode::NamedCluster,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Reserved, owner: "
             "team-a, date: 2026-01-15}"},
            184001,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Pending, owner: "
             "team-a, date: 2026-01-15, claimUid: req-1, expiresAt: 2026-11-25T10:05:00Z, cluster: "
             "prod-eu, topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
            kShopTopics},
        // The cluster that owns a settled entry stays its owner: only the
        // reconciler hands an entry over.
        ClaimCase{"settled_entry_of_another_cluster_keeps_its_cluster",
                  Mode::NamedCluster,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                   "cluster: prod-us, topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                  184001,
                  {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                   "cluster: prod-us, topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                  kShopTopics},
        // The old id keeps the topics it had, as history; the new one records today's.
        ClaimCase{
            "id_change_records_the_topics_on_the_new_entry",
            Mode::Standalone,
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Active, date: 2026-01-15, "
             "topicPrefix: old, schemaHistoryTopic: schema-history.old}"},
            184001,
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Decommissioned, date: 2026-01-15, "
             "decommissionedAt: 2026-11-25T10:00:00Z, topicPrefix: old, schemaHistoryTopic: "
             "schema-history.old}",
             "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-25, "
             "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
            kShopTopics}),
    testing_support::ScenarioName());

// --- is_recorded and record_admitted ------------------------------------------

struct Subject {
  std::string server_id;  // as written; "" = missing
  std::string_view connector_class = kMySqlConnectorClass;
  Topics topics = kNoTopics;
};

ConnectorFacts facts_of(const Subject& s) {
  return connector_of(s.server_id, s.connector_class, s.topics);
}

struct RecordCase {
  const char* name;
  Mode mode;
  Entries in;
  Subject subject;  // ecommerce/orders-cdc
  Entries out;      // as `in`: already recorded
};

void PrintTo(const RecordCase& c, std::ostream* os) {
  *os << c.name;
}

class RecordAdmitted : public testing::TestWithParam<RecordCase> {};

// is_recorded() says exactly whether record_admitted() has nothing to write.
TEST_P(RecordAdmitted, RecordsTheIdUnlessItIsAlreadyRecorded) {
  const auto& c = GetParam();
  const ConnectorFacts subject = facts_of(c.subject);
  const ClaimStyle style = style_for(c.mode);
  Registry r = registry_of(c.in);
  const Registry expected = registry_of(c.out);
  const bool expect_change = !(r == expected);
  EXPECT_EQ(is_recorded(RegistryIndex(r), subject, kNow, style), !expect_change);
  EXPECT_EQ(record_admitted(r, subject, kNow, style), expect_change);
  EXPECT_EQ(written(r), written(expected));
  EXPECT_EQ(registry_problems(r), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(
    Claims, RecordAdmitted,
    testing::Values(
        RecordCase{"no_entry_standalone", Mode::Standalone, {}, {"184001"}, {kNewActive}},
        RecordCase{"no_entry_in_a_cluster", Mode::Cluster, {}, {"184001"}, {kNewPending}},
        RecordCase{"active_standalone", Mode::Standalone, {kActive}, {"184001"}, {kActive}},
        RecordCase{"active_in_a_cluster", Mode::Cluster, {kActive}, {"184001"}, {kActive}},
        RecordCase{"live_pending_standalone", Mode::Standalone, {kLivePending}, {"184001"}, {kNewActive}},
        RecordCase{"live_pending_in_a_cluster", Mode::Cluster, {kLivePending}, {"184001"}, {kLivePending}},
        RecordCase{"lapsed_pending", Mode::Cluster, {kLapsedPending}, {"184001"}, {kNewPending}},
        RecordCase{
            "reserved",
            Mode::Standalone,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, date: 2026-01-15}"},
            {"184001"},
            {kActive}},
        RecordCase{
            "decommissioned",
            Mode::Standalone,
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2025-01-15, "
             "decommissionedAt: 2026-10-01}"},
            {"184001"},
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: 2025-01-15, "
             "decommissionedAt: 2026-10-01}",
             kNewActive}},
        RecordCase{
            "active_with_another_id",
            Mode::Standalone,
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Active, date: 2026-01-15}"},
            {"184001"},
            {"{connector: ecommerce/orders-cdc, serverId: 184002, status: Decommissioned, date: 2026-01-15, "
             "decommissionedAt: 2026-11-25T10:00:00Z}",
             kNewActive}},
        RecordCase{
            "another_key_holds_the_id",
            Mode::Standalone,
            {"{connector: ecommerce/other-cdc, serverId: 184001, status: Decommissioned, date: 2025-01-15, "
             "decommissionedAt: 2026-10-01}"},
            {"184001"},
            {"{connector: ecommerce/other-cdc, serverId: 184001, status: Decommissioned, date: 2025-01-15, "
             "decommissionedAt: 2026-10-01}",
             kNewActive}},
        RecordCase{"mariadb", Mode::Cluster, {}, {"184001", kMariaDbConnectorClass}, {kNewPending}},
        // Nothing to record: no binlog, or no id that could be written down.
        RecordCase{"not_a_binlog_reader", Mode::Standalone, {}, {"184001", kPostgres}, {}},
        RecordCase{"no_server_id", Mode::Standalone, {}, {""}, {}},
        RecordCase{"server_id_auto", Mode::Standalone, {}, {"auto"}, {}},
        RecordCase{
            "server_id_placeholder", Mode::Standalone, {}, {"${file:/etc/db.properties:server.id}"}, {}},
        RecordCase{"server_id_invalid", Mode::Standalone, {}, {"0"}, {}},
        // --- the topic facts (issue 11) ---
        RecordCase{"new_entry_records_the_topics",
                   Mode::Standalone,
                   {},
                   {"184001", kMySqlConnectorClass, kShopTopics},
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-11-25, "
                    "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"}},
        RecordCase{"new_claim_in_a_named_cluster",
                   Mode::NamedCluster,
                   {},
                   {"184001", kMySqlConnectorClass, kShopTopics},
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
                    "claimUid: req-1, expiresAt: 2026-11-25T10:05:00Z, cluster: prod-eu, topicPrefix: shop, "
                    "schemaHistoryTopic: schema-history.shop}"}},
        // The id is recorded, the topics are not: not recorded, and written.
        RecordCase{"active_without_topics_gets_them",
                   Mode::Standalone,
                   {kActive},
                   {"184001", kMySqlConnectorClass, kShopTopics},
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"}},
        RecordCase{"active_with_a_stale_history_topic",
                   Mode::Cluster,
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, schemaHistoryTopic: schema-history.old}"},
                   {"184001", kMySqlConnectorClass, kShopTopics},
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"}},
        RecordCase{"active_with_a_stale_delimiter",
                   Mode::Standalone,
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, topicDelimiter: _, schemaHistoryTopic: schema-history.shop}"},
                   {"184001", kMySqlConnectorClass, kShopTopics},
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"}},
        RecordCase{"active_with_current_topics",
                   Mode::Standalone,
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                   {"184001", kMySqlConnectorClass, kShopTopics},
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"}},
        // "." is the default whether it is written or not.
        RecordCase{"active_with_the_default_delimiter_written_out",
                   Mode::Standalone,
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, topicDelimiter: ., schemaHistoryTopic: schema-history.shop}"},
                   {"184001", kMySqlConnectorClass, kShopTopics},
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, topicDelimiter: ., schemaHistoryTopic: schema-history.shop}"}},
        RecordCase{
            "live_pending_keeps_its_claim_and_gets_the_topics",
            Mode::Cluster,
            {kLivePending},
            {"184001", kMySqlConnectorClass, kShopTopics},
            {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, date: 2026-11-25, "
             "claimUid: req-0, expiresAt: 2026-11-25T10:03:00Z, topicPrefix: shop, schemaHistoryTopic: "
             "schema-history.shop}"}},
        // A connector that lost its topics (a file-backed history now) loses them in its entry too.
        RecordCase{"history_no_longer_in_kafka",
                   Mode::Standalone,
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop, schemaHistoryTopic: schema-history.shop}"},
                   {"184001", kMySqlConnectorClass,
                    Topics{"shop", ".", "schema-history.shop",
                           "io.debezium.storage.file.history.FileSchemaHistory"}},
                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
                    "topicPrefix: shop}"}},
        RecordCase{
            "not_a_binlog_reader_with_topics", Mode::Standalone, {}, {"184001", kPostgres, kShopTopics}, {}}),
    testing_support::ScenarioName());

// --- set_topic_facts --------------------------------------------------------

struct TopicFactsCase {
  const char* name;
  std::string in;  // an entry of ecommerce/orders-cdc
  Topics topics;   // the connector's
  std::string out;
};

void PrintTo(const TopicFactsCase& c, std::ostream* os) {
  *os << c.name;
}

class SetTopicFacts : public testing::TestWithParam<TopicFactsCase> {};

TEST_P(SetTopicFacts, TheEntryRecordsWhatTheConnectorHasNow) {
  const auto& c = GetParam();
  Registry r = registry_of({c.in});
  const Registry expected = registry_of({c.out});
  const bool expect_change = !(r == expected);
  EXPECT_EQ(set_topic_facts(r.entries.at(0), connector_of("184001", kMySqlConnectorClass, c.topics)),
            expect_change);
  EXPECT_EQ(written(r), written(expected));
  EXPECT_EQ(registry_problems(r), std::vector<std::string>{});
}

const std::string kBare = "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active}";

INSTANTIATE_TEST_SUITE_P(
    Claims, SetTopicFacts,
    testing::Values(
        TopicFactsCase{
            "fills_prefix_and_history", kBare, kShopTopics,
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop, "
            "schemaHistoryTopic: schema-history.shop}"},
        TopicFactsCase{
            "records_a_non_default_delimiter", kBare, Topics{"shop", "_", "schema-history.shop", ""},
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop, "
            "topicDelimiter: _, schemaHistoryTopic: schema-history.shop}"},
        // A placeholder is no topic name the parser accepts: not recorded, and
        // a delimiter without a prefix says nothing.
        TopicFactsCase{
            "placeholder_prefix_not_recorded", kBare, Topics{"${env:PREFIX}", "_", "schema-history.shop", ""},
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, schemaHistoryTopic: "
            "schema-history.shop}"},
        TopicFactsCase{
            "placeholder_history_topic_not_recorded", kBare,
            Topics{"shop", ".", "${file:/etc/topics.properties:history}", ""},
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop}"},
        // The history key is never read next to FileSchemaHistory.
        TopicFactsCase{
            "non_kafka_history_class_records_no_history_topic", kBare,
            Topics{"shop", ".", "schema-history.shop", "io.debezium.storage.file.history.FileSchemaHistory"},
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop}"},
        TopicFactsCase{
            "kafka_history_class_named_records_the_history_topic", kBare,
            Topics{"shop", ".", "schema-history.shop",
                   "io.debezium.storage.kafka.history.KafkaSchemaHistory"},
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop, "
            "schemaHistoryTopic: schema-history.shop}"},
        TopicFactsCase{
            "clears_stale_facts",
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: old, "
            "topicDelimiter: _, schemaHistoryTopic: schema-history.old}",
            kNoTopics, kBare},
        TopicFactsCase{
            "back_to_the_default_delimiter",
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop, "
            "topicDelimiter: _, schemaHistoryTopic: schema-history.shop}",
            kShopTopics,
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop, "
            "schemaHistoryTopic: schema-history.shop}"},
        TopicFactsCase{
            "current_facts_unchanged",
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop, "
            "schemaHistoryTopic: schema-history.shop}",
            kShopTopics,
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: shop, "
            "schemaHistoryTopic: schema-history.shop}"},
        // Nothing else of the entry is touched.
        TopicFactsCase{
            "other_fields_kept",
            "{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Reserved, "
            "owner: team-a, date: 2026-01-15, cluster: prod-eu, uid: 6f1c}",
            kShopTopics,
            "{connector: ecommerce/orders-cdc, serverId: 184001, database: shop, status: Reserved, "
            "owner: team-a, date: 2026-01-15, cluster: prod-eu, uid: 6f1c, topicPrefix: shop, "
            "schemaHistoryTopic: schema-history.shop}"}),
    testing_support::ScenarioName());

// --- assignment_needs_claim -------------------------------------------------

struct AssignmentCase {
  const char* name;
  Entries in;
  bool needs_claim;
};

void PrintTo(const AssignmentCase& c, std::ostream* os) {
  *os << c.name;
}

class AssignmentNeedsClaim : public testing::TestWithParam<AssignmentCase> {};

TEST_P(AssignmentNeedsClaim, OnlyWhenTheKeyHoldsNoLiveEntry) {
  const auto& c = GetParam();
  const Registry r = registry_of(c.in);
  EXPECT_EQ(assignment_needs_claim(RegistryIndex(r), kKey, kNow), c.needs_claim);
}

INSTANTIATE_TEST_SUITE_P(
    Claims, AssignmentNeedsClaim,
    testing::Values(AssignmentCase{"no_entry", {}, true}, AssignmentCase{"active_retry", {kActive}, false},
                    AssignmentCase{"live_pending_retry", {kLivePending}, false},
                    AssignmentCase{"reserved_left_to_validate",
                                   {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved}"},
                                   false},
                    AssignmentCase{"lapsed_pending", {kLapsedPending}, true},
                    AssignmentCase{
                        "decommissioned",
                        {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, date: "
                         "2025-01-15, decommissionedAt: 2026-10-01}"},
                        true},
                    AssignmentCase{"another_keys_entry",
                                   {"{connector: ecommerce/other-cdc, serverId: 184001, status: Active}"},
                                   true}),
    testing_support::ScenarioName());

}  // namespace
}  // namespace cdcguard
