#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cdcguard/model/connector.hpp"
#include "cdcguard/model/manifest.hpp"

#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

std::string read_manifest(const std::string& relative) {
  return testing_support::read_fixture_file("manifests/" + relative);
}

// Parses a fixture, naming it by its bare file name in messages.
ManifestSet parse_fixture(const std::string& name, std::string_view default_namespace = "default") {
  ManifestSet set;
  parse_manifests(read_manifest(name), name, default_namespace, set);
  return set;
}

const ConnectorFacts& connector_named(const ManifestSet& set, std::string_view name) {
  const auto it = std::find_if(set.connectors.begin(), set.connectors.end(),
                               [&](const ConnectorFacts& c) { return c.name == name; });
  if (it == set.connectors.end()) throw std::runtime_error("no connector " + std::string(name));
  return *it;
}

std::string errors_of(const ManifestSet& set) {
  std::string s;
  for (const auto& e : set.errors)
    s += e.location.file + ":" + std::to_string(e.location.line) + ": " + e.message + "\n";
  return s;
}

// Scenario structs print as their name in gtest's messages.
template <class Case>
requires requires(const Case& c) {
  c.name;
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

using testing_support::ScenarioName;

TEST(Manifest, ReadsAV1KafkaConnector) {
  const ManifestSet set = parse_fixture("connector-v1.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 1u);
  EXPECT_TRUE(set.connect_clusters.empty());
  const ConnectorFacts& c = set.connectors[0];
  EXPECT_EQ(c.key(), "ecommerce/orders-cdc");
  EXPECT_EQ(c.uid, "6a1f7c62-1d0c-4c35-9b55-2f0e8d6c1a01");
  EXPECT_EQ(c.api_version, "kafka.strimzi.io/v1");
  EXPECT_EQ(c.cluster, "cdc-connect");
  EXPECT_EQ(c.connector_class, kMySqlConnectorClass);
  EXPECT_EQ(c.location.file, "connector-v1.yaml");
  EXPECT_EQ(c.location.line, 2);  // apiVersion, after the comment
  EXPECT_EQ(c.server_id.state, ServerIdValue::State::Valid);
  EXPECT_EQ(c.server_id.id, 184001u);
  EXPECT_EQ(c.server_id.text, "184001");
  EXPECT_EQ(c.server_id_line, 18);
  EXPECT_EQ(c.topic_prefix.value, "shop");
  EXPECT_EQ(c.topic_prefix.key, "topic.prefix");
  EXPECT_EQ(c.topic_prefix.line, 19);
  EXPECT_EQ(c.topic_delimiter, ".");
  EXPECT_EQ(c.history_topic.value, "schema-history.shop");
  EXPECT_EQ(c.history_topic.key, "schema.history.internal.kafka.topic");
  EXPECT_EQ(c.history_topic.line, 22);
  EXPECT_EQ(c.history_class, "");
  EXPECT_TRUE(c.kafka_schema_history());
  EXPECT_EQ(c.database_hostname, "mysql.ecommerce.svc");
  EXPECT_EQ(c.database_port, "3306");
  EXPECT_EQ(c.database_include_list, "ecommerce");
  EXPECT_TRUE(c.is_debezium());
  EXPECT_TRUE(c.reads_binlog());
  EXPECT_EQ(c.at(c.server_id_line).line, 18);
  EXPECT_EQ(c.at(0).line, 2);
  EXPECT_EQ(c.at(0).file, "connector-v1.yaml");
}

TEST(Manifest, ReadsAV1beta2MariaDbConnectorWithCustomDelimiterAndFileHistory) {
  const ManifestSet set = parse_fixture("connector-v1beta2.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 1u);
  const ConnectorFacts& c = set.connectors[0];
  EXPECT_EQ(c.key(), "warehouse/stock-cdc");
  EXPECT_EQ(c.api_version, "kafka.strimzi.io/v1beta2");
  EXPECT_EQ(c.connector_class, kMariaDbConnectorClass);
  EXPECT_TRUE(c.reads_binlog());
  EXPECT_EQ(c.server_id.state, ServerIdValue::State::Valid);
  EXPECT_EQ(c.server_id.id, 184101u);
  EXPECT_EQ(c.server_id_line, 14);
  EXPECT_EQ(c.topic_delimiter, "_");
  EXPECT_EQ(c.history_class, "io.debezium.storage.file.history.FileSchemaHistory");
  EXPECT_FALSE(c.kafka_schema_history());
  EXPECT_FALSE(c.history_topic.present());
  EXPECT_EQ(c.database_port, "3306");
}

TEST(Manifest, ReadsJsonWithTabs) {
  const ManifestSet set = parse_fixture("connector.json");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 1u);
  const ConnectorFacts& c = set.connectors[0];
  EXPECT_EQ(c.key(), "payments/payments-cdc");
  EXPECT_EQ(c.cluster, "cdc-connect");
  EXPECT_EQ(c.location.line, 1);
  EXPECT_EQ(c.server_id.state, ServerIdValue::State::Valid);
  EXPECT_EQ(c.server_id.id, 184002u);
  EXPECT_EQ(c.server_id_line, 15);
  EXPECT_EQ(c.database_port, "3306");
  EXPECT_EQ(c.history_topic.value, "schema-history.payments");
}

TEST(Manifest, ReadsKindList) {
  const ManifestSet set = parse_fixture("list.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 1u);
  EXPECT_EQ(set.connectors[0].key(), "ecommerce/orders-cdc");
  EXPECT_EQ(set.connectors[0].location.line, 7);
  EXPECT_EQ(set.connectors[0].server_id_line, 15);
  ASSERT_EQ(set.connect_clusters.size(), 1u);
  EXPECT_EQ(set.connect_clusters[0].key(), "ecommerce/cdc-connect");
  EXPECT_EQ(set.connect_clusters[0].location.line, 23);
}

TEST(Manifest, ReadsTypedListKinds) {
  const ManifestSet set = parse_fixture("typed-list.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 2u);
  EXPECT_EQ(set.connectors[0].key(), "team-a/a-cdc");
  EXPECT_EQ(set.connectors[0].server_id.id, 184010u);
  EXPECT_EQ(set.connectors[0].server_id_line, 11);
  EXPECT_EQ(set.connectors[1].key(), "team-b/b-cdc");
  EXPECT_EQ(set.connectors[1].location.line, 12);
  EXPECT_EQ(set.connectors[1].server_id.id, 184011u);
}

TEST(Manifest, ReadsAJsonList) {
  const ManifestSet set = parse_fixture("list.json");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 1u);
  EXPECT_EQ(set.connectors[0].key(), "ecommerce/json-list-cdc");
  EXPECT_EQ(set.connectors[0].server_id.id, 184020u);
  EXPECT_EQ(set.connectors[0].location.line, 5);
}

TEST(Manifest, IgnoresOtherKindsAndOtherGroupsAndDefaultsTheNamespace) {
  const ManifestSet set = parse_fixture("mixed-kinds.yaml", "gitops-default");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 1u);
  EXPECT_TRUE(set.connect_clusters.empty());
  const ConnectorFacts& c = set.connectors[0];
  EXPECT_EQ(c.key(), "gitops-default/no-namespace-cdc");
  EXPECT_EQ(c.location.line, 32);
  EXPECT_EQ(c.server_id_line, 39);
}

TEST(Manifest, AppendsAcrossFilesAndKeepsEachFileName) {
  ManifestSet set;
  parse_manifests(read_manifest("connector-v1.yaml"), "a.yaml", "default", set);
  parse_manifests(read_manifest("connector.json"), "b.json", "default", set);
  ASSERT_EQ(set.connectors.size(), 2u);
  EXPECT_EQ(set.connectors[0].location.file, "a.yaml");
  EXPECT_EQ(set.connectors[1].location.file, "b.json");
}

struct ServerIdCase {
  const char* name;  // the connector's name in server-ids.yaml
  ServerIdValue::State state;
  std::uint32_t id;
  const char* text;
};

class ManifestServerIds : public ::testing::TestWithParam<ServerIdCase> {};

TEST_P(ManifestServerIds, ClassifiesTheValue) {
  static const ManifestSet set = parse_fixture("server-ids.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  const ServerIdCase& c = GetParam();
  const ConnectorFacts& facts = connector_named(set, c.name);
  EXPECT_EQ(facts.server_id.state, c.state);
  EXPECT_EQ(facts.server_id.text, c.text);
  if (c.state == ServerIdValue::State::Valid) {
    EXPECT_EQ(facts.server_id.id, c.id);
  }
}

using S = ServerIdValue::State;
INSTANTIATE_TEST_SUITE_P(
    Manifest, ManifestServerIds,
    ::testing::Values(
        ServerIdCase{"number", S::Valid, 184001, "184001"},
        ServerIdCase{"string", S::Valid, 184001, "184001"},
        ServerIdCase{"single-quoted", S::Valid, 184001, "184001"}, ServerIdCase{"zero", S::Invalid, 0, "0"},
        ServerIdCase{"one", S::Valid, 1, "1"}, ServerIdCase{"max", S::Valid, 4294967295u, "4294967295"},
        ServerIdCase{"max-plus-one", S::Invalid, 0, "4294967296"},
        ServerIdCase{"huge", S::Invalid, 0, "99999999999999999999999"},
        ServerIdCase{"negative", S::Invalid, 0, "-5"}, ServerIdCase{"plus-sign", S::Invalid, 0, "+184001"},
        ServerIdCase{"fraction", S::Invalid, 0, "18.4"}, ServerIdCase{"exponent", S::Invalid, 0, "1.84e5"},
        ServerIdCase{"word", S::Invalid, 0, "abc"}, ServerIdCase{"padded", S::Invalid, 0, " 184001"},
        ServerIdCase{"auto", S::Auto, 0, "auto"},
        ServerIdCase{"placeholder", S::Placeholder, 0, "${secrets:db/pw:id}"},
        ServerIdCase{"quoted-placeholder", S::Placeholder, 0, "${secrets:db/pw:id}"},
        ServerIdCase{"empty-string", S::Missing, 0, ""}, ServerIdCase{"null", S::Missing, 0, ""},
        ServerIdCase{"list", S::Invalid, 0, "<a list>"}, ServerIdCase{"absent", S::Missing, 0, ""}),
    ScenarioName{});

TEST(Manifest, NumberAndStringServerIdsAreTheSameValue) {
  const ManifestSet set = parse_fixture("server-ids.yaml");
  const ServerIdValue& number = connector_named(set, "number").server_id;
  const ServerIdValue& string = connector_named(set, "string").server_id;
  EXPECT_EQ(number.state, string.state);
  EXPECT_EQ(number.id, string.id);
  EXPECT_EQ(number.text, string.text);
}

TEST(Manifest, AbsentServerIdHasNoLine) {
  const ManifestSet set = parse_fixture("server-ids.yaml");
  EXPECT_EQ(connector_named(set, "absent").server_id_line, 0);
  EXPECT_GT(connector_named(set, "null").server_id_line, 0);
}

struct ParseServerIdCase {
  const char* name;
  const char* text;
  bool present;
  ServerIdValue::State state;
  std::uint32_t id;
};

class ManifestParseServerId : public ::testing::TestWithParam<ParseServerIdCase> {};

TEST_P(ManifestParseServerId, Classifies) {
  const ParseServerIdCase& c = GetParam();
  const ServerIdValue v = parse_server_id(c.text, c.present);
  EXPECT_EQ(v.state, c.state);
  EXPECT_EQ(v.text, c.text);
  EXPECT_EQ(v.id, c.id);
}

INSTANTIATE_TEST_SUITE_P(
    Manifest, ManifestParseServerId,
    ::testing::Values(ParseServerIdCase{"not_present", "184001", false, S::Missing, 0},
                      ParseServerIdCase{"present_empty", "", true, S::Missing, 0},
                      ParseServerIdCase{"valid", "184001", true, S::Valid, 184001},
                      ParseServerIdCase{"max", "4294967295", true, S::Valid, 4294967295u},
                      ParseServerIdCase{"overflow", "4294967296", true, S::Invalid, 0},
                      ParseServerIdCase{"placeholder_inside", "id-${env:X}", true, S::Placeholder, 0},
                      ParseServerIdCase{"auto_is_exact", "AUTO", true, S::Invalid, 0},
                      // kubectl's YAML 1.1 would read an unquoted 0184001 as octal.
                      ParseServerIdCase{"leading_zero", "0184001", true, S::Invalid, 0},
                      ParseServerIdCase{"zero", "0", true, S::Invalid, 0}),
    ScenarioName{});

TEST(Manifest, Debezium1NamesAreRead) {
  const ManifestSet set = parse_fixture("debezium1-names.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 1u);
  const ConnectorFacts& c = set.connectors[0];
  EXPECT_EQ(c.topic_prefix.value, "legacy");
  EXPECT_EQ(c.topic_prefix.key, "database.server.name");
  EXPECT_EQ(c.topic_prefix.line, 11);
  EXPECT_EQ(c.history_topic.value, "dbhistory.legacy");
  EXPECT_EQ(c.history_topic.key, "database.history.kafka.topic");
  EXPECT_EQ(c.history_topic.line, 13);
  EXPECT_EQ(c.history_class, "io.debezium.relational.history.KafkaDatabaseHistory");
  EXPECT_TRUE(c.kafka_schema_history());
  EXPECT_EQ(c.database_include_list, "inventory");
}

TEST(Manifest, Debezium2NamesWinOverDebezium1Names) {
  const ManifestSet set = parse_fixture("both-names.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 1u);
  const ConnectorFacts& c = set.connectors[0];
  EXPECT_EQ(c.topic_prefix.value, "new-prefix");
  EXPECT_EQ(c.topic_prefix.key, "topic.prefix");
  EXPECT_EQ(c.topic_prefix.line, 14);
  EXPECT_EQ(c.history_topic.value, "schema-history.new");
  EXPECT_EQ(c.history_topic.key, "schema.history.internal.kafka.topic");
  EXPECT_EQ(c.history_topic.line, 15);
  EXPECT_EQ(c.history_class, "io.debezium.storage.kafka.history.KafkaSchemaHistory");
  EXPECT_TRUE(c.kafka_schema_history());
}

// Issue 14: the names decide the generation, and each generation reads only its own.
TEST(Manifest, TheNamesAConfigUsesDecideItsDebeziumGeneration) {
  ManifestSet set;
  parse_manifests(R"(apiVersion: kafka.strimzi.io/v1
kind: KafkaConnector
metadata: {name: course-cdc, namespace: courses}
spec:
  class: io.debezium.connector.mysql.MySqlConnector
  config:
    database.server.name: mysql_orders
    topic.delimiter: "_"
    database.history.kafka.bootstrap.servers: kafka:9092
    schema.history.internal.kafka.topic: schema-history.mysql_orders
    database.history.consumer.sasl.jaas.config: secret
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaConnector
metadata: {name: legacy-cdc, namespace: courses}
spec:
  class: io.debezium.connector.mysql.MySqlConnector
  config:
    database.server.name: legacy
    topic.delimiter: "_"
    database.history.kafka.topic: dbhistory.legacy
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaConnector
metadata: {name: maria-cdc, namespace: courses}
spec:
  class: io.debezium.connector.mariadb.MariaDbConnector
  config:
    database.server.name: maria
)",
                  "gen.yaml", "default", set);
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 3u);

  const ConnectorFacts& course = set.connectors[0];
  EXPECT_EQ(course.generation, ConfigGeneration::V2);
  EXPECT_EQ(course.generation_marker, "schema.history.internal.kafka.topic");
  EXPECT_EQ(course.generation_marker_line, 10);
  EXPECT_FALSE(course.topic_prefix.present()) << "2.x ignores database.server.name";
  EXPECT_EQ(course.topic_delimiter, "_");
  EXPECT_EQ(course.topic_delimiter_line, 8);
  EXPECT_EQ(course.history_topic.key, "schema.history.internal.kafka.topic");
  ASSERT_EQ(course.legacy_keys.size(), 3u);
  EXPECT_EQ(course.legacy_keys[0].key, "database.server.name");
  EXPECT_EQ(course.legacy_keys[0].renamed, "topic.prefix");
  EXPECT_EQ(course.legacy_keys[0].value, "mysql_orders");
  EXPECT_EQ(course.legacy_keys[0].line, 7);
  EXPECT_EQ(course.legacy_keys[1].renamed, "schema.history.internal.kafka.bootstrap.servers");
  EXPECT_EQ(course.legacy_keys[2].key, "database.history.consumer.sasl.jaas.config");
  EXPECT_EQ(course.legacy_keys[2].value, "") << "values that may hold secrets are not kept";

  const ConnectorFacts& legacy = set.connectors[1];
  EXPECT_EQ(legacy.generation, ConfigGeneration::V1);
  EXPECT_EQ(legacy.topic_prefix.value, "legacy");
  EXPECT_EQ(legacy.topic_delimiter, ".") << "1.x has no topic.delimiter";
  EXPECT_TRUE(legacy.legacy_keys.empty());

  const ConnectorFacts& maria = set.connectors[2];
  EXPECT_EQ(maria.generation, ConfigGeneration::V2) << "the MariaDB connector is 2.5+ only";
  EXPECT_EQ(maria.generation_marker, "class io.debezium.connector.mariadb.MariaDbConnector");
  EXPECT_FALSE(maria.topic_prefix.present());
  ASSERT_EQ(maria.legacy_keys.size(), 1u);
}

TEST(Manifest, FoldedTopicNamesMakeDotAndUnderscoreOneCharacter) {
  EXPECT_EQ(fold_topic_name("shop.orders"), "shop_orders");
  EXPECT_EQ(fold_topic_name("shop_orders"), "shop_orders");
  EXPECT_EQ(fold_topic_name("shop-orders"), "shop-orders");
  EXPECT_EQ(renamed_in_2x("database.history.kafka.topic"), "schema.history.internal.kafka.topic");
  EXPECT_EQ(renamed_in_2x("database.history"), "schema.history.internal");
  EXPECT_EQ(renamed_in_2x("database.historyx"), "");
  EXPECT_EQ(renamed_in_2x("database.server.name"), "topic.prefix");
  EXPECT_EQ(renamed_in_2x("database.server.id"), "");
}

// The YAML merge key `<<` is applied as kubectl applies it: payments-cdc gets the
// server id 184001 that the cluster would give it.
TEST(Manifest, MergeKeysAreAppliedLikeKubectlDoes) {
  const ManifestSet set = parse_fixture("merge-keys.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connectors.size(), 2u);
  const ConnectorFacts& payments = connector_named(set, "payments-cdc");
  EXPECT_EQ(payments.server_id.state, ServerIdValue::State::Valid);
  EXPECT_EQ(payments.server_id.id, 184001u);
  EXPECT_EQ(payments.database_hostname, "mysql.ecommerce.svc");
  EXPECT_EQ(payments.topic_prefix.value, "payments");
  EXPECT_EQ(payments.history_topic.value, "schema-history.payments");
}

TEST(Manifest, UnsupportedStrimziVersionIsAnErrorWithItsLine) {
  const ManifestSet set = parse_fixture("unsupported-version.yaml");
  ASSERT_EQ(set.connectors.size(), 1u);
  EXPECT_EQ(set.connectors[0].name, "fine-cdc");
  ASSERT_EQ(set.errors.size(), 1u) << errors_of(set);
  EXPECT_EQ(set.errors[0].location.file, "unsupported-version.yaml");
  EXPECT_EQ(set.errors[0].location.line, 11);
  EXPECT_NE(set.errors[0].message.find("kafka.strimzi.io/v1alpha1"), std::string::npos);
}

TEST(Manifest, MissingNameIsAnErrorWithItsLine) {
  const ManifestSet set = parse_fixture("missing-name.yaml");
  ASSERT_EQ(set.connectors.size(), 1u);
  EXPECT_EQ(set.connectors[0].key(), "default/named-cdc");
  ASSERT_EQ(set.errors.size(), 1u) << errors_of(set);
  EXPECT_EQ(set.errors[0].location.file, "missing-name.yaml");
  EXPECT_EQ(set.errors[0].location.line, 8);
  EXPECT_NE(set.errors[0].message.find("metadata.name"), std::string::npos) << set.errors[0].message;
}

TEST(Manifest, ConfigOrSpecThatIsNotAMapIsAnError) {
  const ManifestSet set = parse_fixture("config-not-map.yaml");
  ASSERT_EQ(set.connectors.size(), 1u) << "only the connector without any config is usable";
  EXPECT_EQ(set.connectors[0].name, "no-config");
  EXPECT_EQ(set.connectors[0].server_id.state, ServerIdValue::State::Missing);
  ASSERT_EQ(set.errors.size(), 3u) << errors_of(set);
  EXPECT_EQ(set.errors[0].location.line, 8);
  EXPECT_NE(set.errors[0].message.find("ecommerce/string-config"), std::string::npos);
  EXPECT_NE(set.errors[0].message.find("spec.config must be a map"), std::string::npos);
  EXPECT_EQ(set.errors[1].location.line, 18);
  EXPECT_NE(set.errors[1].message.find("ecommerce/list-config"), std::string::npos);
  EXPECT_EQ(set.errors[2].location.line, 26);
  EXPECT_NE(set.errors[2].message.find("spec must be a map"), std::string::npos);
}

TEST(Manifest, MalformedYamlIsAnErrorWithItsLine) {
  const ManifestSet set = parse_fixture("malformed.yaml");
  // Objects before the syntax error are kept; the rest of the file is lost.
  ASSERT_EQ(set.connectors.size(), 1u);
  EXPECT_EQ(set.connectors[0].name, "fine-cdc");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].location.file, "malformed.yaml");
  EXPECT_EQ(set.errors[0].location.line, 15);
  EXPECT_NE(set.errors[0].message.find("malformed YAML"), std::string::npos) << set.errors[0].message;
}

struct BadInputCase {
  const char* name;
  std::string text;
  int line;
};

class ManifestBadInput : public ::testing::TestWithParam<BadInputCase> {};

// Whatever a file holds, parsing reports it and goes on: no throw, no crash.
TEST_P(ManifestBadInput, IsReportedNotThrown) {
  ManifestSet set;
  EXPECT_NO_THROW(parse_manifests(GetParam().text, "bad.yaml", "default", set));
  EXPECT_TRUE(set.connectors.empty());
  ASSERT_FALSE(set.errors.empty());
  EXPECT_EQ(set.errors[0].location.file, "bad.yaml");
  EXPECT_EQ(set.errors[0].location.line, GetParam().line);
}

INSTANTIATE_TEST_SUITE_P(
    Manifest, ManifestBadInput,
    ::testing::Values(
        BadInputCase{"bad_indentation",
                     "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnector\n metadata: {}\n", 3},
        BadInputCase{"invalid_utf8", std::string("kind: KafkaConnector\nname: \xff\xfe\n"), 2},
        BadInputCase{"duplicate_key", "kind: KafkaConnector\nkind: KafkaConnector\n", 2},
        BadInputCase{"unknown_alias", "apiVersion: kafka.strimzi.io/v1\nkind: *k\n", 2},
        BadInputCase{"deep_nesting", std::string(5000, '[') + std::string(5000, ']'), 1},
        BadInputCase{"no_metadata", "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnector\n", 1},
        BadInputCase{"items_not_a_list", "apiVersion: v1\nkind: List\nitems: {a: b}\n", 1}),
    ScenarioName{});

TEST(Manifest, NonObjectsAreIgnored) {
  ManifestSet set;
  parse_manifests("just a string\n---\n- 1\n- 2\n---\n{}\n", "odd.yaml", "default", set);
  EXPECT_TRUE(set.errors.empty()) << errors_of(set);
  EXPECT_TRUE(set.connectors.empty());
  EXPECT_TRUE(set.connect_clusters.empty());
}

TEST(Manifest, ReadsAV1KafkaConnect) {
  const ManifestSet set = parse_fixture("kafkaconnect-v1.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  EXPECT_TRUE(set.connectors.empty());
  ASSERT_EQ(set.connect_clusters.size(), 1u);
  const ConnectClusterFacts& k = set.connect_clusters[0];
  EXPECT_EQ(k.key(), "kafka/cdc-connect");
  EXPECT_EQ(k.api_version, "kafka.strimzi.io/v1");
  EXPECT_EQ(k.location.line, 1);
  EXPECT_EQ(k.bootstrap_servers, (std::vector<std::string>{"broker-0.kafka:9093", "broker-1.kafka:9093",
                                                           "kafka-bootstrap.kafka.svc:9093"}));
  EXPECT_EQ(k.bootstrap_line, 9);
  const struct {
    const ConnectTopicFact& fact;
    const char* value;
    const char* path;
    int line;
  } expected[] = {
      {k.group_id, "cdc-connect-cluster", "spec.groupId", 10},
      {k.offset_topic, "cdc-connect-offsets", "spec.offsetStorageTopic", 11},
      {k.config_topic, "cdc-connect-configs", "spec.configStorageTopic", 12},
      {k.status_topic, "cdc-connect-status", "spec.statusStorageTopic", 13},
  };
  for (const auto& e : expected) {
    SCOPED_TRACE(e.path);
    EXPECT_EQ(e.fact.value, e.value);
    EXPECT_EQ(e.fact.path, e.path);
    EXPECT_EQ(e.fact.line, e.line);
    EXPECT_FALSE(e.fact.defaulted);
  }
}

TEST(Manifest, ReadsAV1beta2KafkaConnectFromItsConfig) {
  const ManifestSet set = parse_fixture("kafkaconnect-v1beta2.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connect_clusters.size(), 1u);
  const ConnectClusterFacts& k = set.connect_clusters[0];
  EXPECT_EQ(k.key(), "kafka/legacy-connect");
  EXPECT_EQ(k.bootstrap_servers, std::vector<std::string>{"kafka-bootstrap:9092"});
  const struct {
    const ConnectTopicFact& fact;
    const char* value;
    const char* path;
    int line;
  } expected[] = {
      {k.group_id, "legacy-connect-cluster", "spec.config.group.id", 10},
      {k.offset_topic, "legacy-connect-offsets", "spec.config.offset.storage.topic", 11},
      {k.config_topic, "legacy-connect-configs", "spec.config.config.storage.topic", 12},
      {k.status_topic, "legacy-connect-status", "spec.config.status.storage.topic", 13},
  };
  for (const auto& e : expected) {
    SCOPED_TRACE(e.path);
    EXPECT_EQ(e.fact.value, e.value);
    EXPECT_EQ(e.fact.path, e.path);
    EXPECT_EQ(e.fact.line, e.line);
    EXPECT_FALSE(e.fact.defaulted);
  }
}

TEST(Manifest, V1beta2KafkaConnectGetsStrimziDefaults) {
  const ManifestSet set = parse_fixture("kafkaconnect-v1beta2-defaults.yaml", "kafka");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connect_clusters.size(), 1u);
  const ConnectClusterFacts& k = set.connect_clusters[0];
  EXPECT_EQ(k.key(), "kafka/default-connect");
  EXPECT_EQ(k.group_id.value, "connect-cluster");
  EXPECT_TRUE(k.group_id.defaulted);
  EXPECT_EQ(k.group_id.path, "spec.config.group.id");
  EXPECT_EQ(k.group_id.line, 1);  // the object: nothing written to point at
  EXPECT_EQ(k.offset_topic.value, "only-offsets-set");
  EXPECT_FALSE(k.offset_topic.defaulted);
  EXPECT_EQ(k.offset_topic.line, 9);
  EXPECT_EQ(k.config_topic.value, "connect-cluster-configs");
  EXPECT_TRUE(k.config_topic.defaulted);
  EXPECT_EQ(k.status_topic.value, "connect-cluster-status");
  EXPECT_TRUE(k.status_topic.defaulted);
}

TEST(Manifest, V1beta2KafkaConnectWithNothingSetGetsEveryDefault) {
  ManifestSet set;
  parse_manifests(
      "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnect\nmetadata: {name: bare}\n"
      "spec: {bootstrapServers: 'b:9092'}\n",
      "bare.yaml", "default", set);
  ASSERT_EQ(set.connect_clusters.size(), 1u);
  const ConnectClusterFacts& k = set.connect_clusters[0];
  EXPECT_EQ(k.group_id.value, "connect-cluster");
  EXPECT_EQ(k.offset_topic.value, "connect-cluster-offsets");
  EXPECT_EQ(k.config_topic.value, "connect-cluster-configs");
  EXPECT_EQ(k.status_topic.value, "connect-cluster-status");
  EXPECT_TRUE(k.group_id.defaulted && k.offset_topic.defaulted && k.config_topic.defaulted &&
              k.status_topic.defaulted);
}

TEST(Manifest, V1KafkaConnectGetsNoDefaults) {
  ManifestSet set;
  parse_manifests("apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnect\nmetadata: {name: bare}\nspec: {}\n",
                  "bare.yaml", "default", set);
  ASSERT_EQ(set.connect_clusters.size(), 1u);
  const ConnectClusterFacts& k = set.connect_clusters[0];
  EXPECT_EQ(k.group_id.value, "");
  EXPECT_FALSE(k.group_id.defaulted);
  EXPECT_EQ(k.offset_topic.value, "");
  EXPECT_TRUE(k.bootstrap_servers.empty());
}

TEST(Manifest, V1beta2KafkaConnectFieldsWinOverItsConfig) {
  const ManifestSet set = parse_fixture("kafkaconnect-v1beta2-fields.yaml");
  ASSERT_TRUE(set.errors.empty()) << errors_of(set);
  ASSERT_EQ(set.connect_clusters.size(), 1u);
  const ConnectClusterFacts& k = set.connect_clusters[0];
  EXPECT_EQ(k.group_id.value, "fields-group");
  EXPECT_EQ(k.group_id.path, "spec.groupId");
  EXPECT_EQ(k.offset_topic.value, "fields-offsets");
  EXPECT_EQ(k.config_topic.value, "fields-configs");
  EXPECT_EQ(k.status_topic.value, "fields-status");
  EXPECT_FALSE(k.status_topic.defaulted);
}

TEST(Manifest, KafkaConnectConfigNotAMapIsAnError) {
  ManifestSet set;
  parse_manifests(
      "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnect\nmetadata: {name: k}\nspec:\n  config: [a]\n",
      "k.yaml", "default", set);
  EXPECT_TRUE(set.connect_clusters.empty());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].location.line, 5);
}

TEST(Manifest, FindsRegistryConfigMaps) {
  const std::string text =
      "apiVersion: v1\n"
      "kind: ConfigMap\n"
      "metadata:\n"
      "  name: cdc-guard-registry\n"
      "  namespace: cdc-guard\n"
      "data:\n"
      "  registry.yaml: |\n"
      "    rules:\n"
      "      embargoDays: 7\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: ConfigMap\n"
      "metadata: {name: other}\n"
      "data: {other.yaml: x}\n";
  const auto found = find_registry_configmaps(text, "cm.yaml");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name, "cdc-guard-registry");
  EXPECT_EQ(found[0].namespace_name, "cdc-guard");
  EXPECT_EQ(found[0].text, "rules:\n  embargoDays: 7\n");
  EXPECT_EQ(found[0].location.file, "cm.yaml");
  EXPECT_EQ(found[0].line_offset, 7);  // text line 1 is file line 8
}

}  // namespace
}  // namespace cdcguard
