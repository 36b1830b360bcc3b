// The policy pieces around the rules: actions from rules.enforcement and
// exceptions (apply_enforcement), and the schema history topic template that
// /mutate and `check` fill in (expand_history_topic_template,
// with_mutation_defaults).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/rule_ids.hpp"
#include "cdcguard/policy/rules.hpp"

namespace cdcguard {
namespace {

namespace r = rule;

TimePoint at(std::string_view rfc3339) {
  return parse_timestamp(rfc3339).value();
}

// --- apply_enforcement ---------------------------------------------------------

struct Finding {
  std::string_view rule = {};
  std::string_view subject = {};
  Action action = Action::Deny;  // what apply_enforcement must leave
};

struct EnforcementCase {
  std::string_view name = {};
  std::string registry = {};
  std::string_view now = "2026-04-01T12:00:00Z";
  std::vector<Finding> found = {};  // what the rules found (actions ignored)
  std::vector<Finding> kept = {};   // what must remain, with its action
};

void PrintTo(const EnforcementCase& c, std::ostream* os) {
  *os << c.name;
}

constexpr std::string_view kExceptions = R"(
exceptions:
  - {connector: legacy/old-cdc, rules: [topic-prefix-overlap, server-id-duplicate], reason: migrating, until: 2026-06-30}
  - {connector: legacy/frozen-cdc, rules: ["*"], reason: "read-only until the database is retired"}
  - {connector: kafka/connect-a, rules: [connect-group-id-duplicate], reason: "one group on purpose"}
)";

const std::vector<EnforcementCase>& enforcement_cases() {
  static const std::vector<EnforcementCase> all = {
      {.name = "every-rule-denies-by-default",
       .registry = "rules:\n",  // the defaults (an empty text is not a registry)
       .found = {{r::kTopicPrefixOverlap, "a/x"},
                 {r::kServerIdUnresolvable, "a/x"},
                 {r::kConnectGroupIdDuplicate, "kafka/c"}},
       .kept = {{r::kTopicPrefixOverlap, "a/x", Action::Deny},
                {r::kServerIdUnresolvable, "a/x", Action::Deny},
                {r::kConnectGroupIdDuplicate, "kafka/c", Action::Deny}}},
      {.name = "enforcement-sets-warn-and-audit",
       .registry = "rules:\n  enforcement: {topic-prefix-overlap: warn, topic-prefix-duplicate: audit, "
                   "server-id-missing: deny}\n",
       .found = {{r::kTopicPrefixOverlap, "a/x"},
                 {r::kTopicPrefixDuplicate, "a/x"},
                 {r::kServerIdMissing, "a/x"},
                 {r::kServerIdDuplicate, "a/x"}},
       .kept = {{r::kTopicPrefixOverlap, "a/x", Action::Warn},
                {r::kTopicPrefixDuplicate, "a/x", Action::Audit},
                {r::kServerIdMissing, "a/x", Action::Deny},
                {r::kServerIdDuplicate, "a/x", Action::Deny}}},
      {.name = "allow-placeholders-makes-unresolvable-a-warning",
       .registry = "rules:\n  allowPlaceholders: true\n",
       .found = {{r::kServerIdUnresolvable, "a/x"}, {r::kServerIdInvalid, "a/y"}},
       .kept = {{r::kServerIdUnresolvable, "a/x", Action::Warn}, {r::kServerIdInvalid, "a/y", Action::Deny}}},
      {.name = "exception-honoured-through-its-until-day",
       .registry = std::string(kExceptions),
       .now = "2026-06-30T23:59:59Z",
       .found = {{r::kTopicPrefixOverlap, "legacy/old-cdc"},
                 {r::kServerIdDuplicate, "legacy/old-cdc"},
                 {r::kTopicPrefixDuplicate, "legacy/old-cdc"},
                 {r::kTopicPrefixOverlap, "legacy/new-cdc"}},
       .kept = {{r::kTopicPrefixDuplicate, "legacy/old-cdc", Action::Deny},
                {r::kTopicPrefixOverlap, "legacy/new-cdc", Action::Deny}}},
      {.name = "exception-ignored-the-day-after",
       .registry = std::string(kExceptions),
       .now = "2026-07-01T00:00:00Z",
       .found = {{r::kTopicPrefixOverlap, "legacy/old-cdc"}, {r::kServerIdDuplicate, "legacy/old-cdc"}},
       .kept = {{r::kTopicPrefixOverlap, "legacy/old-cdc", Action::Deny},
                {r::kServerIdDuplicate, "legacy/old-cdc", Action::Deny}}},
      {.name = "wildcard-exception-without-expiry",
       .registry = std::string(kExceptions),
       .now = "2036-01-01T00:00:00Z",
       .found = {{r::kServerIdDuplicate, "legacy/frozen-cdc"},
                 {r::kSchemaHistoryTopicShared, "legacy/frozen-cdc"},
                 {r::kSchemaHistoryTopicShared, "legacy/thawed-cdc"}},
       .kept = {{r::kSchemaHistoryTopicShared, "legacy/thawed-cdc", Action::Deny}}},
      {.name = "exception-drops-a-warning-too",
       .registry = "rules:\n  enforcement: {topic-prefix-overlap: warn}\n" + std::string(kExceptions),
       .now = "2026-05-01T00:00:00Z",
       .found = {{r::kTopicPrefixOverlap, "legacy/old-cdc"}, {r::kTopicPrefixOverlap, "legacy/new-cdc"}},
       .kept = {{r::kTopicPrefixOverlap, "legacy/new-cdc", Action::Warn}}},
      {.name = "exception-for-a-kafka-connect",
       .registry = std::string(kExceptions),
       .found = {{r::kConnectGroupIdDuplicate, "kafka/connect-a"},
                 {r::kConnectStorageTopicDuplicate, "kafka/connect-a"},
                 {r::kConnectGroupIdDuplicate, "kafka/connect-b"}},
       .kept = {{r::kConnectStorageTopicDuplicate, "kafka/connect-a", Action::Deny},
                {r::kConnectGroupIdDuplicate, "kafka/connect-b", Action::Deny}}},
  };
  return all;
}

class PolicyEnforcement : public ::testing::TestWithParam<EnforcementCase> {};

TEST_P(PolicyEnforcement, SetsActionsAndDropsExempted) {
  const EnforcementCase& c = GetParam();
  const Registry registry = parse_registry(c.registry, std::string(c.name));
  std::vector<Violation> violations;
  for (const auto& f : c.found) {
    Violation v;
    v.rule = std::string(f.rule);
    v.subject = std::string(f.subject);
    v.action = Action::Audit;  // whatever came in is overwritten
    violations.push_back(v);
  }
  const std::size_t dropped = apply_enforcement(violations, registry, at(c.now));

  EXPECT_EQ(dropped, c.found.size() - c.kept.size());
  ASSERT_EQ(violations.size(), c.kept.size());
  for (std::size_t i = 0; i < c.kept.size(); ++i) {  // order is kept
    EXPECT_EQ(violations[i].rule, c.kept[i].rule);
    EXPECT_EQ(violations[i].subject, c.kept[i].subject);
    EXPECT_EQ(violations[i].action, c.kept[i].action)
        << violations[i].rule << " on " << violations[i].subject;
  }
}

std::string enforcement_name(const ::testing::TestParamInfo<EnforcementCase>& info) {
  std::string name(info.param.name);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Policy, PolicyEnforcement, ::testing::ValuesIn(enforcement_cases()),
                         enforcement_name);

TEST(PolicyEnforcementSeverity, DenyIsAnErrorWarnAndAuditAreWarnings) {
  EXPECT_EQ(severity_of(Action::Deny), Severity::Error);
  EXPECT_EQ(severity_of(Action::Warn), Severity::Warning);
  EXPECT_EQ(severity_of(Action::Audit), Severity::Warning);
  EXPECT_STREQ(to_string(Severity::Error), "error");
  EXPECT_STREQ(to_string(Severity::Warning), "warning");
}

// --- expand_history_topic_template ---------------------------------------------

struct TemplateCase {
  std::string_view name = {};
  std::string_view templ = {};
  std::string_view prefix = {};  // "" = the connector has none
  std::string_view prefix_key = "topic.prefix";
  std::string_view expected = {};
};

void PrintTo(const TemplateCase& c, std::ostream* os) {
  *os << c.name;
}

ConnectorFacts shop_connector(std::string_view prefix, std::string_view prefix_key = "topic.prefix") {
  ConnectorFacts f;
  f.namespace_name = "analytics";
  f.name = "shop-cdc";
  f.connector_class = std::string(kMySqlConnectorClass);
  if (!prefix.empty()) {
    f.topic_prefix.value = std::string(prefix);
    f.topic_prefix.key = std::string(prefix_key);
  }
  return f;
}

std::string template_name(const ::testing::TestParamInfo<TemplateCase>& info) {
  return std::string(info.param.name);
}

class PolicyHistoryTemplate : public ::testing::TestWithParam<TemplateCase> {};

TEST_P(PolicyHistoryTemplate, FillsPlaceholders) {
  const TemplateCase& c = GetParam();
  EXPECT_EQ(expand_history_topic_template(c.templ, shop_connector(c.prefix, c.prefix_key)), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyHistoryTemplate,
    ::testing::Values(TemplateCase{.name = "prefix",
                                   .templ = "schema-history.{prefix}",
                                   .prefix = "shop",
                                   .expected = "schema-history.shop"},
                      TemplateCase{.name = "namespace_and_name",
                                   .templ = "{namespace}.{name}.schema-history",
                                   .prefix = "shop",
                                   .expected = "analytics.shop-cdc.schema-history"},
                      TemplateCase{.name = "all_three_and_repeats",
                                   .templ = "{prefix}-{namespace}-{name}-{prefix}",
                                   .prefix = "shop",
                                   .expected = "shop-analytics-shop-cdc-shop"},
                      TemplateCase{.name = "debezium_1x_server_name_is_the_prefix",
                                   .templ = "dbhistory.{prefix}",
                                   .prefix = "legacy",
                                   .prefix_key = "database.server.name",
                                   .expected = "dbhistory.legacy"},
                      TemplateCase{.name = "no_prefix_needed",
                                   .templ = "schema-history.{namespace}-{name}",
                                   .expected = "schema-history.analytics-shop-cdc"},
                      TemplateCase{.name = "missing_prefix_gives_nothing",
                                   .templ = "schema-history.{prefix}",
                                   .expected = ""},
                      TemplateCase{.name = "missing_prefix_after_other_placeholders",
                                   .templ = "{namespace}.{name}.{prefix}",
                                   .expected = ""},
                      TemplateCase{.name = "no_placeholders",
                                   .templ = "schema-history.fixed",
                                   .prefix = "shop",
                                   .expected = "schema-history.fixed"},
                      TemplateCase{.name = "empty_template", .templ = "", .prefix = "shop", .expected = ""}),
    template_name);

// --- with_mutation_defaults ------------------------------------------------------

TEST(PolicyMutationDefaults, FillsAMissingKafkaHistoryTopicOfABinlogReader) {
  const Registry registry =
      parse_registry("rules:\n  schemaHistoryTopicTemplate: \"schema-history.{prefix}\"\n", "t");
  for (const std::string_view cls : {kMySqlConnectorClass, kMariaDbConnectorClass}) {
    ConnectorFacts f = shop_connector("shop");
    f.connector_class = std::string(cls);
    const ConnectorFacts filled = with_mutation_defaults(f, registry);
    EXPECT_EQ(filled.history_topic.value, "schema-history.shop") << cls;
    EXPECT_EQ(filled.history_topic.key, "schema.history.internal.kafka.topic") << cls;
    EXPECT_TRUE(filled.history_topic.from_template) << cls;
    EXPECT_TRUE(filled.history_topic.present()) << cls;
  }
}

TEST(PolicyMutationDefaults, LeavesEverythingElseAlone) {
  const Registry with_template =
      parse_registry("rules:\n  schemaHistoryTopicTemplate: \"schema-history.{prefix}\"\n", "t");
  const Registry without_template = default_registry();

  ConnectorFacts explicit_topic = shop_connector("shop");
  explicit_topic.history_topic.value = "my-history";
  explicit_topic.history_topic.key = "database.history.kafka.topic";
  explicit_topic.history_topic.line = 12;

  ConnectorFacts postgres = shop_connector("shop");
  postgres.connector_class = "io.debezium.connector.postgresql.PostgresConnector";

  ConnectorFacts file_history = shop_connector("shop");
  file_history.history_class = "io.debezium.storage.file.history.FileSchemaHistory";

  const ConnectorFacts no_prefix = shop_connector("");
  const ConnectorFacts plain = shop_connector("shop");

  struct Case {
    const char* name;
    const ConnectorFacts& facts;
    const Registry& registry;
  };
  for (const Case& c :
       {Case{"explicit topic", explicit_topic, with_template}, Case{"postgres", postgres, with_template},
        Case{"file-backed history", file_history, with_template},
        Case{"no template", plain, without_template},
        Case{"template needs the missing prefix", no_prefix, with_template}}) {
    const ConnectorFacts out = with_mutation_defaults(c.facts, c.registry);
    EXPECT_EQ(out.history_topic.value, c.facts.history_topic.value) << c.name;
    EXPECT_EQ(out.history_topic.key, c.facts.history_topic.key) << c.name;
    EXPECT_EQ(out.history_topic.line, c.facts.history_topic.line) << c.name;
    EXPECT_FALSE(out.history_topic.from_template) << c.name;
  }
}

}  // namespace
}  // namespace cdcguard
