// Issue 14's rules behind a real kube-apiserver, driven by kubectl: what a user
// who copied a course's config sees, and '.' versus '_' in topic names.
// Server ids 184480-184489 are this file's (ids of deleted connectors stay
// embargoed in the shared registry).
#include "e2e/e2e_helpers.hpp"

namespace cdcguard::e2e {
namespace {

using ::testing::HasSubstr;

std::string mysql_connector(const std::string& ns, const std::string& name, const std::string& config) {
  return "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnector\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns +
         "\n  labels:\n    strimzi.io/cluster: cdc-connect\nspec:\n"
         "  class: io.debezium.connector.mysql.MySqlConnector\n  tasksMax: 1\n  config:\n"
         "    database.hostname: mysql\n    database.port: 3306\n" +
         config;
}

TEST(TopicRules, ACourseConfigWithA1xNameIn2xConfigIsDeniedWithTheRename) {
  const auto ns = new_namespace("course");
  const auto r =
      apply(mysql_connector(ns, "orders-cdc",
                            "    database.server.id: 184480\n"
                            "    database.server.name: mysql_orders\n"
                            "    schema.history.internal.kafka.topic: schema-history.mysql_orders\n"));
  ASSERT_FALSE(r.ok()) << r.describe();
  EXPECT_THAT(r.err, HasSubstr("admission webhook \"validate.cdc-guard.io\" denied the request"));
  EXPECT_THAT(r.err, HasSubstr("[config-generation-mixed]"));
  EXPECT_THAT(r.err, HasSubstr("rename database.server.name to topic.prefix"));
  EXPECT_THAT(r.err, HasSubstr("[topic-prefix-missing]"));
  EXPECT_EQ(stored_server_id(ns, "orders-cdc"), std::nullopt);
}

// /mutate fills a missing history topic under the name the connector's own
// generation reads: a 1.x config stays 1.x, and is admitted.
TEST(TopicRules, A1xConfigGetsItsHistoryTopicUnderThe1xName) {
  const auto ns = new_namespace("legacy");
  // No id and no history topic: /mutate assigns the one and fills the other.
  const auto r = apply(mysql_connector(ns, "legacy-cdc", "    database.server.name: " + ns + "-legacy\n"));
  ASSERT_TRUE(r.ok()) << with_logs(r);
  EXPECT_NE(stored_server_id(ns, "legacy-cdc").value_or(""), "");
  EXPECT_EQ(stored(ns, "legacy-cdc", "{.spec.config.database\\.history\\.kafka\\.topic}"),
            "schema-history." + ns + "-legacy");
  EXPECT_EQ(stored(ns, "legacy-cdc", "{.spec.config.schema\\.history\\.internal\\.kafka\\.topic}"), "");
}

TEST(TopicRules, PrefixesThatDifferOnlyInDotVersusUnderscoreAreDenied) {
  const auto ns = new_namespace("fold");
  const auto first = apply(mysql_connector(ns, "dot-cdc",
                                           "    database.server.id: 184482\n"
                                           "    topic.prefix: " +
                                               ns +
                                               ".orders\n"
                                               "    schema.history.internal.kafka.topic: schema-history." +
                                               ns + "-dot\n"));
  ASSERT_TRUE(first.ok()) << with_logs(first);
  const auto second = apply(mysql_connector(ns, "underscore-cdc",
                                            "    database.server.id: 184483\n"
                                            "    topic.prefix: " +
                                                ns +
                                                "_orders\n"
                                                "    schema.history.internal.kafka.topic: schema-history." +
                                                ns + "-underscore\n"));
  ASSERT_FALSE(second.ok()) << second.describe();
  EXPECT_THAT(second.err, HasSubstr("[topic-name-collision]"));
  EXPECT_THAT(second.err, HasSubstr(ns + "/dot-cdc"));
  EXPECT_THAT(second.err, HasSubstr("collides with existing topics: " + ns + ".orders"));
  EXPECT_EQ(stored_server_id(ns, "underscore-cdc"), std::nullopt);
}

}  // namespace
}  // namespace cdcguard::e2e
