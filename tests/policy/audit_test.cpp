#include "cdcguard/policy/audit.hpp"

#include <gtest/gtest.h>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/rule_ids.hpp"

namespace cdcguard {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = *parse_timestamp("2026-11-25T10:00:00Z");

Violation violation(const std::string& subject, const std::string& rule, const std::string& message,
                    const std::string& kind = "KafkaConnector") {
  Violation v;
  v.rule = rule;
  v.subject = subject;
  v.subject_kind = kind;
  v.message = message;
  return v;
}

ConnectorFacts mysql(const std::string& name, std::uint32_t id, const std::string& prefix,
                     const std::string& history = "") {
  ConnectorFacts f;
  f.namespace_name = "shop";
  f.name = name;
  f.connector_class = "io.debezium.connector.mysql.MySqlConnector";
  f.server_id.state = ServerIdValue::State::Valid;
  f.server_id.id = id;
  f.server_id.text = std::to_string(id);
  f.topic_prefix.value = prefix;
  f.topic_prefix.key = "topic.prefix";
  if (!history.empty()) {
    f.history_topic.value = history;
    f.history_topic.key = "schema.history.internal.kafka.topic";
  }
  return f;
}

std::vector<std::string> rules_of(const CheckReport& r, const std::string& subject) {
  std::vector<std::string> rules;
  for (const auto& v : r.violations)
    if (v.subject == subject) rules.push_back(v.rule);
  return rules;
}

// A running connector without a history topic has none: check would judge
// the manifest as the mutating webhook leaves it (the template's topic), the
// audit judges what runs.
TEST(AuditCluster, JudgesConnectorsAsTheyRunWithoutMutationDefaults) {
  ClusterView view;
  view.connectors.upsert(mysql("orders-cdc", 184001, "orders"));
  view.connectors.upsert(mysql("users-cdc", 184001, "users", "schema-history.users"));
  const Registry registry = parse_registry(
      "rules:\n  range: {from: 184000, to: 184999}\n  schemaHistoryTopicTemplate: "
      "\"schema-history.{prefix}\"\n",
      "registry.yaml");

  const CheckReport audit = audit_cluster(view, registry, kNow);
  EXPECT_EQ(audit.summary.connectors, 2u);
  EXPECT_EQ(rules_of(audit, "shop/orders-cdc"),
            (std::vector<std::string>{"schema-history-topic-missing", "server-id-duplicate"}));
  EXPECT_EQ(rules_of(audit, "shop/users-cdc"), std::vector<std::string>{"server-id-duplicate"});

  ManifestSet manifests;
  view.connectors.for_each([&](const ConnectorFacts& c) { manifests.connectors.push_back(c); });
  const CheckReport check = check_manifests(std::move(manifests), registry, kNow);
  EXPECT_EQ(rules_of(check, "shop/orders-cdc"), std::vector<std::string>{"server-id-duplicate"})
      << "check fills in the history topic /mutate would set";
}

// The issue-14 rules come with the same ids from the audit as from check.
TEST(AuditCluster, ReportsTheTopicNameRulesOfRunningConnectors) {
  ClusterView view;
  view.connectors.upsert(mysql("dot-cdc", 184001, "shop.orders", "schema-history.shop.orders"));
  view.connectors.upsert(mysql("underscore-cdc", 184002, "shop_orders", "schema history"));
  const Registry registry = parse_registry("rules:\n  range: {from: 184000, to: 184999}\n", "registry.yaml");
  const CheckReport audit = audit_cluster(view, registry, kNow);
  EXPECT_EQ(rules_of(audit, "shop/dot-cdc"), std::vector<std::string>{"topic-name-collision"});
  EXPECT_EQ(rules_of(audit, "shop/underscore-cdc"),
            (std::vector<std::string>{"schema-history-topic-invalid", "topic-name-collision"}));
  const auto counts = violations_by_rule(audit.violations);
  EXPECT_EQ(counts.at("topic-name-collision"), 2u);
}

TEST(AuditEventThrottle, OneEventPerObjectAndRuleAnHour) {
  AuditEventThrottle throttle;
  const std::vector<Violation> found{violation("shop/a", "server-id-duplicate", "a: same id as shop/b"),
                                     violation("shop/b", "server-id-duplicate", "b: same id as shop/a"),
                                     violation("shop/a", "topic-prefix-duplicate", "a: same prefix")};
  auto due = throttle.due(found, kNow);
  ASSERT_EQ(due.size(), 3u);
  for (const auto& e : due) {
    EXPECT_EQ(e.count, 1);
    EXPECT_EQ(e.first_seen, kNow);
    EXPECT_EQ(e.namespace_name, "shop");
    EXPECT_EQ(e.object_kind, "KafkaConnector");
    throttle.sent(e, kNow);
  }
  EXPECT_EQ(due[0].object_name, "a");
  EXPECT_EQ(due[0].rule, "server-id-duplicate");
  EXPECT_EQ(due[0].note, "a: same id as shop/b");
  EXPECT_NE(due[0].event_name, due[2].event_name) << "one Event per rule";
  EXPECT_EQ(due[0].event_name.rfind("a.", 0), 0u) << due[0].event_name;

  EXPECT_TRUE(throttle.due(found, kNow + 1s).empty());
  EXPECT_TRUE(throttle.due(found, kNow + 59min + 59s).empty());
  auto again = throttle.due(found, kNow + 1h);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].event_name, due[0].event_name) << "the same Event";
  EXPECT_EQ(again[0].count, 2);
  EXPECT_EQ(again[0].first_seen, kNow);
}

TEST(AuditEventThrottle, AnEventNotWrittenIsDueAgainOnTheNextPass) {
  AuditEventThrottle throttle;
  const std::vector<Violation> found{violation("shop/a", "server-id-duplicate", "m")};
  const auto first = throttle.due(found, kNow);
  ASSERT_EQ(first.size(), 1u);
  const auto second = throttle.due(found, kNow + 1min);  // first was never sent()
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].event_name, first[0].event_name);
  EXPECT_EQ(second[0].count, 1);
  EXPECT_EQ(second[0].first_seen, kNow);
}

TEST(AuditEventThrottle, AViolationThatComesBackGetsANewEvent) {
  AuditEventThrottle throttle;
  const std::vector<Violation> found{violation("shop/a", "server-id-duplicate", "m")};
  const auto first = throttle.due(found, kNow);
  throttle.sent(first.at(0), kNow);
  EXPECT_TRUE(throttle.due({}, kNow + 1min).empty());
  EXPECT_EQ(throttle.tracked(), 0u) << "fixed: forgotten";
  const auto back = throttle.due(found, kNow + 2min);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].count, 1);
  EXPECT_NE(back[0].event_name, first[0].event_name);
}

TEST(AuditEventThrottle, ARuleFoundTwiceOnOneObjectIsOneEvent) {
  AuditEventThrottle throttle;
  const auto due = throttle.due({violation("shop/a", "topic-prefix-overlap", "overlaps shop/b"),
                                 violation("shop/a", "topic-prefix-overlap", "overlaps shop/c"),
                                 violation("shop/a", "topic-prefix-overlap", "overlaps shop/d")},
                                kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].note, "overlaps shop/b (and 2 more)");
}

TEST(AuditEventThrottle, KindsAreKeptApartAndEventNamesAreDnsSubdomains) {
  AuditEventThrottle throttle;
  const std::string long_name(250, 'x');
  const auto due =
      throttle.due({violation("kafka/connect", "connect-group-id-duplicate", "m", "KafkaConnect"),
                    violation("kafka/connect", "connect-group-id-duplicate", "m"),
                    violation("kafka/" + long_name, "server-id-duplicate", "m")},
                   kNow);
  ASSERT_EQ(due.size(), 3u);
  for (const auto& e : due) {
    EXPECT_LE(e.event_name.size(), 253u);
    EXPECT_EQ(e.event_name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-."), std::string::npos)
        << e.event_name;
  }
  EXPECT_NE(due[0].event_name, due[1].event_name);
}

TEST(ViolationsByRule, EveryKnownRuleIsCounted) {
  const auto counts = violations_by_rule(
      {violation("shop/a", "server-id-duplicate", "m"), violation("shop/b", "server-id-duplicate", "m")});
  EXPECT_EQ(counts.at("server-id-duplicate"), 2u);
  EXPECT_EQ(counts.at("topic-prefix-overlap"), 0u);
  EXPECT_EQ(counts.size(), rule::all().size());
}

}  // namespace
}  // namespace cdcguard
