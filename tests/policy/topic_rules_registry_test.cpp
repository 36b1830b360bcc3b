// The topic rules against registry entries (issue 11): a connector is judged
// against every registered connector, not only the ones in view. Each case is
// a registry (entries as flow maps), the connector under judgement and the
// connectors in view, and lists the exact topic violations it must produce.

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/rule_ids.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/registry_index.hpp"
#include "cdcguard/policy/rules.hpp"
#include "cdcguard/policy/server_id_allocator.hpp"
#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

namespace r = rule;

const TimePoint kNow = *parse_timestamp("2026-11-25T10:00:00Z");

constexpr std::string_view kPostgres = "io.debezium.connector.postgresql.PostgresConnector";
constexpr std::string_view kFileHistory = "io.debezium.storage.file.history.FileSchemaHistory";
constexpr std::string_view kPrefixPath = "spec.config.topic.prefix";
constexpr std::string_view kHistoryPath = "spec.config.schema.history.internal.kafka.topic";

struct Spec {
  std::string key = "analytics/new-cdc";
  std::string prefix = {};  // "" = none
  std::string delimiter = ".";
  std::string history = {};  // "" = none
  std::string_view history_class = {};
  std::string_view connector_class = kMySqlConnectorClass;
  std::string server_id = "184500";
};

ConnectorFacts facts(const Spec& s) {
  ConnectorFacts f;
  const auto slash = s.key.find('/');
  f.namespace_name = s.key.substr(0, slash);
  f.name = s.key.substr(slash + 1);
  f.connector_class = std::string(s.connector_class);
  f.server_id = parse_server_id(s.server_id, true);
  if (!s.prefix.empty()) f.topic_prefix = {s.prefix, "topic.prefix", 7, false};
  f.topic_delimiter = s.delimiter;
  if (!s.history.empty()) f.history_topic = {s.history, "schema.history.internal.kafka.topic", 9, false};
  f.history_class = std::string(s.history_class);
  return f;
}

struct Expected {
  std::string_view rule = {};
  std::string_view path = {};
  Action action = Action::Deny;
  std::vector<std::string_view> message_has = {};
  std::string_view other = {};
  std::vector<std::string_view> message_lacks = {};
};

struct TopicCase {
  const char* name = "";
  std::vector<std::string> entries = {};
  Spec subject = {};
  std::vector<Spec> view = {};  // the other connectors (a cluster's, or `check`'s manifests)
  std::vector<Expected> expected = {};
  std::string policy = {};  // registry text after rules.range: enforcement, exceptions
};

void PrintTo(const TopicCase& c, std::ostream* os) {
  *os << c.name;
}

Registry registry_of(const TopicCase& c) {
  std::string text = "rules:\n  range: {from: 184000, to: 184999}\n" + c.policy + "entries:";
  if (c.entries.empty()) text += " []";
  for (const auto& e : c.entries) text += "\n  - " + e;
  return parse_registry(text + "\n", "registry.yaml");
}

bool is_topic_rule(std::string_view id) {
  return id == r::kTopicPrefixDuplicate || id == r::kTopicPrefixOverlap ||
         id == r::kSchemaHistoryTopicShared || id == r::kSchemaHistoryTopicCollides;
}

class TopicRulesAgainstEntries : public testing::TestWithParam<TopicCase> {};

TEST_P(TopicRulesAgainstEntries, FindExactlyTheExpectedViolations) {
  const auto& c = GetParam();
  const Registry registry = registry_of(c);
  const RegistryIndex registry_index(registry);
  ConnectorIndex view;
  for (const Spec& s : c.view) view.upsert(facts(s));
  const ServerIdAllocator allocator(registry_index, view, kNow);
  const FixHints hints(allocator);
  const EvaluationContext ctx{registry_index, view, hints, kNow, /*after_mutation=*/true};
  std::vector<Violation> found = find_connector_violations(facts(c.subject), ctx);
  apply_enforcement(found, registry, kNow);
  std::erase_if(found, [](const Violation& v) { return !is_topic_rule(v.rule); });

  ASSERT_EQ(found.size(), c.expected.size()) << [&] {
    std::string all;
    for (const auto& v : found) all += "\n  [" + v.rule + "] " + v.path + ": " + v.message;
    return all;
  }();
  for (std::size_t i = 0; i < found.size(); ++i) {
    const Violation& v = found[i];
    const Expected& e = c.expected[i];
    SCOPED_TRACE(v.message);
    EXPECT_EQ(v.rule, e.rule);
    EXPECT_EQ(v.subject, c.subject.key);
    EXPECT_EQ(v.path, e.path);
    EXPECT_EQ(v.action, e.action);
    EXPECT_EQ(v.other, e.other);
    for (const auto part : e.message_has) EXPECT_NE(v.message.find(part), std::string::npos) << part;
    for (const auto part : e.message_lacks) EXPECT_EQ(v.message.find(part), std::string::npos) << part;
    EXPECT_TRUE(v.message.ends_with("; " + v.fix)) << "the message ends with its fix";
  }
}

const std::string kOrders =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, topicPrefix: "
    "shop, "
    "schemaHistoryTopic: schema-history.shop}";
constexpr std::string_view kOrdersParty = "registry entry ecommerce/orders-cdc (server id 184001)";
constexpr std::string_view kOrdersGone =
    "if ecommerce/orders-cdc no longer exists, mark its registry entry Decommissioned";

INSTANTIATE_TEST_SUITE_P(
    Rules, TopicRulesAgainstEntries,
    testing::Values(
        // --- each rule against an entry ---
        TopicCase{
            .name = "prefix_duplicates_an_entrys",
            .entries = {kOrders},
            .subject = {.prefix = "shop", .history = "schema-history.new"},
            .expected = {{.rule = r::kTopicPrefixDuplicate,
                          .path = kPrefixPath,
                          .message_has = {"topic prefix \"shop\" is also used by registry entry "
                                          "ecommerce/orders-cdc (server id 184001): both would write the "
                                          "same change-event topics; give this connector its own prefix, "
                                          "e.g. \"shop-new-cdc\", or, if ecommerce/orders-cdc no longer "
                                          "exists, mark its registry entry Decommissioned"},
                          .other = "ecommerce/orders-cdc"}}},
        TopicCase{
            .name = "history_topic_shared_with_an_entry",
            .entries = {kOrders},
            .subject = {.prefix = "new", .history = "schema-history.shop"},
            .expected = {{.rule = r::kSchemaHistoryTopicShared,
                          .path = kHistoryPath,
                          .message_has = {"schema history topic \"schema-history.shop\" is also used by "
                                          "registry entry ecommerce/orders-cdc (server id 184001)",
                                          kOrdersGone},
                          .other = "ecommerce/orders-cdc"}}},
        TopicCase{
            .name = "prefix_inside_an_entrys_namespace",
            .entries = {kOrders},
            .subject = {.prefix = "shop.eu", .history = "schema-history.new"},
            .expected = {{.rule = r::kTopicPrefixOverlap,
                          .path = kPrefixPath,
                          .message_has = {"topic prefix \"shop.eu\" overlaps registry entry "
                                          "ecommerce/orders-cdc (server id 184001) with prefix \"shop\"",
                                          kOrdersGone},
                          .other = "ecommerce/orders-cdc"}}},
        TopicCase{
            .name = "an_entrys_prefix_inside_this_namespace",
            .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: "
                        "shop.orders}"},
            .subject = {.prefix = "shop", .history = "schema-history.new"},
            .expected = {{.rule = r::kTopicPrefixOverlap,
                          .path = kPrefixPath,
                          .message_has = {"overlaps registry entry ecommerce/orders-cdc (server id "
                                          "184001) with prefix \"shop.orders\""},
                          .other = "ecommerce/orders-cdc"}}},
        // The entry's own delimiter decides its namespace.
        TopicCase{
            .name = "entry_with_its_own_delimiter_overlaps",
            .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: "
                        "shop, topicDelimiter: _}"},
            .subject = {.prefix = "shop_eu", .history = "schema-history.new"},
            .expected = {{.rule = r::kTopicPrefixOverlap,
                          .path = kPrefixPath,
                          .message_has = {kOrdersParty, "with prefix \"shop\""},
                          .other = "ecommerce/orders-cdc"}}},
        TopicCase{
            .name = "entry_with_its_own_delimiter_does_not_overlap",
            .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active, topicPrefix: "
                        "shop, topicDelimiter: _}"},
            .subject = {.prefix = "shop.eu", .history = "schema-history.new"}},
        TopicCase{.name = "history_topic_inside_an_entrys_namespace",
                  .entries = {kOrders},
                  .subject = {.prefix = "new", .history = "shop.history"},
                  .expected = {{.rule = r::kSchemaHistoryTopicCollides,
                                .path = kHistoryPath,
                                .message_has = {"schema history topic \"shop.history\" lies inside the "
                                                "data-topic namespace of registry entry ecommerce/orders-cdc "
                                                "(server id 184001) with prefix \"shop\"",
                                                kOrdersGone},
                                .other = "ecommerce/orders-cdc"}}},
        // The schema-change topic is exactly <prefix>.
        TopicCase{.name = "history_topic_is_an_entrys_prefix",
                  .entries = {kOrders},
                  .subject = {.prefix = "new", .history = "shop"},
                  .expected = {{.rule = r::kSchemaHistoryTopicCollides,
                                .path = kHistoryPath,
                                .message_has = {"\"shop\" lies inside the data-topic namespace of registry "
                                                "entry ecommerce/orders-cdc"},
                                .other = "ecommerce/orders-cdc"}}},
        // The other way round: the entry's history topic in this connector's namespace.
        TopicCase{
            .name = "an_entrys_history_topic_inside_this_namespace",
            .entries = {kOrders},
            .subject = {.prefix = "schema-history", .history = "history.new"},
            .expected = {{.rule = r::kSchemaHistoryTopicCollides,
                          .path = kPrefixPath,
                          .message_has = {"the data-topic namespace of topic prefix \"schema-history\" "
                                          "holds schema history topic \"schema-history.shop\" of registry "
                                          "entry ecommerce/orders-cdc (server id 184001); choose a prefix "
                                          "whose namespace holds no other connector's history topic, e.g. "
                                          "\"schema-history-new-cdc\", or, if ecommerce/orders-cdc no "
                                          "longer exists, mark its registry entry Decommissioned"},
                          .other = "ecommerce/orders-cdc"}}},
        TopicCase{.name = "an_entrys_history_topic_is_this_prefix",
                  .entries = {kOrders},
                  .subject = {.prefix = "schema-history.shop", .history = "history.new"},
                  .expected = {{.rule = r::kSchemaHistoryTopicCollides,
                                .path = kPrefixPath,
                                .message_has = {"holds schema history topic \"schema-history.shop\" of "
                                                "registry entry ecommerce/orders-cdc"},
                                .other = "ecommerce/orders-cdc"}}},
        TopicCase{.name = "both_ways_at_once",
                  .entries = {kOrders},
                  .subject = {.prefix = "schema-history", .history = "shop.history"},
                  .expected = {{.rule = r::kSchemaHistoryTopicCollides,
                                .path = kHistoryPath,
                                .message_has = {"\"shop.history\" lies inside", kOrdersParty},
                                .other = "ecommerce/orders-cdc"},
                               {.rule = r::kSchemaHistoryTopicCollides,
                                .path = kPrefixPath,
                                .message_has = {"holds schema history topic \"schema-history.shop\""},
                                .other = "ecommerce/orders-cdc"}}},
        // Topic rules apply to every Debezium connector, entries record only binlog readers.
        TopicCase{.name = "a_postgres_connector_is_judged_against_entries_too",
                  .entries = {kOrders},
                  .subject = {.prefix = "shop", .connector_class = kPostgres},
                  .expected = {{.rule = r::kTopicPrefixDuplicate,
                                .path = kPrefixPath,
                                .message_has = {kOrdersParty},
                                .other = "ecommerce/orders-cdc"}}},
        TopicCase{
            .name = "a_file_backed_history_shares_nothing",
            .entries = {kOrders},
            .subject = {.prefix = "new", .history = "schema-history.shop", .history_class = kFileHistory}},
        TopicCase{.name = "a_non_debezium_connector_is_not_judged",
                  .entries = {kOrders},
                  .subject = {.prefix = "shop",
                              .history = "schema-history.shop",
                              .connector_class = "io.confluent.connect.jdbc.JdbcSourceConnector"}},

        // --- which entries count ---
        TopicCase{
            .name = "own_entry_is_never_held_against_it",
            .entries = {"{connector: analytics/new-cdc, serverId: 184500, status: Active, topicPrefix: shop, "
                        "schemaHistoryTopic: shop.history}"},
            .subject = {.prefix = "shop.eu", .history = "shop"}},
        TopicCase{
            .name = "own_entry_with_a_stale_prefix_is_not_held_against_it",
            .entries = {"{connector: analytics/new-cdc, serverId: 184500, status: Active, topicPrefix: new, "
                        "schemaHistoryTopic: new.history}"},
            .subject = {.prefix = "new", .history = "schema-history.new"}},
        TopicCase{
            .name = "expired_pending_claim_is_not_held",
            .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, claimUid: u, "
                        "expiresAt: 2026-11-25T09:59:59Z, topicPrefix: shop, schemaHistoryTopic: "
                        "schema-history.shop}"},
            .subject = {.prefix = "shop", .history = "schema-history.shop"}},
        TopicCase{
            .name = "pending_claim_expiring_now_is_not_held",
            .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, claimUid: u, "
                        "expiresAt: 2026-11-25T10:00:00Z, topicPrefix: shop}"},
            .subject = {.prefix = "shop", .history = "schema-history.new"}},
        TopicCase{
            .name = "live_pending_claim_is_held",
            .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, claimUid: u, "
                        "expiresAt: 2026-11-25T10:03:00Z, topicPrefix: shop}"},
            .subject = {.prefix = "shop", .history = "schema-history.new"},
            .expected = {{.rule = r::kTopicPrefixDuplicate,
                          .path = kPrefixPath,
                          .message_has = {"registry entry ecommerce/orders-cdc (server id 184001, Pending "
                                          "claim until 2026-11-25T10:03:00Z)"},
                          .other = "ecommerce/orders-cdc"}}},
        TopicCase{
            .name = "reserved_entry_is_held",
            .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved, topicPrefix: "
                        "shop}"},
            .subject = {.prefix = "shop", .history = "schema-history.new"},
            .expected = {{.rule = r::kTopicPrefixDuplicate,
                          .path = kPrefixPath,
                          .message_has = {"registry entry ecommerce/orders-cdc (server id 184001, "
                                          "Reserved)"},
                          .other = "ecommerce/orders-cdc"}}},
        TopicCase{.name = "decommissioned_entry_is_not_held",
                  .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Decommissioned, "
                              "decommissionedAt: 2026-11-01, topicPrefix: shop, schemaHistoryTopic: "
                              "schema-history.shop}"},
                  .subject = {.prefix = "shop", .history = "schema-history.shop"}},
        TopicCase{.name = "entry_without_topic_facts_holds_none",
                  .entries = {"{connector: ecommerce/orders-cdc, serverId: 184001, status: Active}"},
                  .subject = {.prefix = "shop", .history = "schema-history.shop"}},

        // --- connectors in view ---
        // In view, a connector is judged from its live facts: it moved to
        // another prefix, so its entry's "shop" holds nothing.
        TopicCase{
            .name = "a_connector_in_view_is_judged_by_its_live_facts",
            .entries = {kOrders},
            .subject = {.prefix = "shop", .history = "schema-history.shop"},
            .view = {{.key = "ecommerce/orders-cdc", .prefix = "shop2", .history = "schema-history.shop2"}}},
        TopicCase{
            .name = "a_connector_in_view_and_its_entry_count_once",
            .entries = {kOrders},
            .subject = {.prefix = "shop", .history = "schema-history.new"},
            .view = {{.key = "ecommerce/orders-cdc", .prefix = "shop", .history = "schema-history.shop"}},
            .expected = {{.rule = r::kTopicPrefixDuplicate,
                          .path = kPrefixPath,
                          .message_has = {"\"shop\" is also used by ecommerce/orders-cdc: both"},
                          .other = "ecommerce/orders-cdc",
                          .message_lacks = {"registry entry", "1 more"}}}},
        // The subject in view (a cluster cache holding its older version) changes nothing.
        TopicCase{.name = "the_subject_in_view_and_its_entry_are_not_held",
                  .entries =
                      {"{connector: analytics/new-cdc, serverId: 184500, status: Active, topicPrefix: shop}"},
                  .subject = {.prefix = "shop", .history = "schema-history.new"},
                  .view = {{.key = "analytics/new-cdc", .prefix = "shop", .history = "schema-history.new"}}},
        TopicCase{.name = "connectors_in_view_are_named_before_entries",
                  .entries = {kOrders},
                  .subject = {.prefix = "shop", .history = "schema-history.new"},
                  .view = {{.key = "billing/other-cdc", .prefix = "shop", .history = "schema-history.other"}},
                  .expected = {{.rule = r::kTopicPrefixDuplicate,
                                .path = kPrefixPath,
                                .message_has = {"is also used by billing/other-cdc and registry entry "
                                                "ecommerce/orders-cdc (server id 184001): both",
                                                kOrdersGone},
                                .other = "billing/other-cdc"}}},
        TopicCase{
            .name = "many_entries_named_three_and_counted",
            .entries =
                {"{connector: a/one-cdc, serverId: 184001, status: Active, schemaHistoryTopic: shared}",
                 "{connector: a/two-cdc, serverId: 184002, status: Active, schemaHistoryTopic: shared}",
                 "{connector: a/three-cdc, serverId: 184003, status: Active, schemaHistoryTopic: shared}",
                 "{connector: a/four-cdc, serverId: 184004, status: Active, schemaHistoryTopic: shared}"},
            .subject = {.prefix = "new", .history = "shared"},
            .expected =
                {{.rule = r::kSchemaHistoryTopicShared,
                  .path = kHistoryPath,
                  .message_has = {"registry entry a/four-cdc (server id 184004), registry entry a/one-cdc "
                                  "(server id 184001), registry entry a/three-cdc (server id 184003) and 1 "
                                  "more",
                                  "or free the registry entries of connectors that no longer exist"},
                  .other = "a/four-cdc"}}},

        // --- enforcement and exceptions hold for entries as for connectors ---
        TopicCase{.name = "enforcement_applies",
                  .entries = {kOrders},
                  .subject = {.prefix = "shop", .history = "schema-history.new"},
                  .expected = {{.rule = r::kTopicPrefixDuplicate,
                                .path = kPrefixPath,
                                .action = Action::Warn,
                                .message_has = {kOrdersParty},
                                .other = "ecommerce/orders-cdc"}},
                  .policy = "  enforcement: {topic-prefix-duplicate: warn}\n"},
        TopicCase{
            .name = "an_exception_exempts",
            .entries = {kOrders},
            .subject = {.prefix = "shop", .history = "schema-history.new"},
            .policy = "exceptions:\n  - {connector: analytics/new-cdc, rules: [topic-prefix-duplicate], "
                      "reason: migrating}\n"}),
    testing_support::ScenarioName());

}  // namespace
}  // namespace cdcguard
