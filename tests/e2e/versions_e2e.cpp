// kafka.strimzi.io v1 and v1beta2 name one connector (Strimzi 0.50 serves
// both); Strimzi 1.x serves v1 only (run by the e2e.strimzi-1.x entry).
#include "e2e/e2e_helpers.hpp"

namespace cdcguard::e2e {
namespace {

using ::testing::HasSubstr;

TEST(BothVersions, AV1beta2AndAV1RequestForOneConnectorAreOneConnector) {
  const auto ns = new_namespace("versions");
  const auto old_api = apply(connector_yaml(
      {.ns = ns, .name = "orders-cdc", .api_version = "kafka.strimzi.io/v1beta2", .server_id = 184060}));
  ASSERT_TRUE(old_api.ok()) << with_logs(old_api);
  // The same connector through v1, with a change the rules read: judged against
  // the others, never against itself.
  const auto new_api = apply(connector_yaml(
      {.ns = ns, .name = "orders-cdc", .server_id = 184060, .topic_prefix = ns + ".orders-v2"}));
  ASSERT_TRUE(new_api.ok()) << with_logs(new_api);
  EXPECT_THAT(new_api.out, HasSubstr("orders-cdc configured"));
  EXPECT_EQ(stored(ns, "orders-cdc", "{.spec.config.topic\\.prefix}"), ns + ".orders-v2");

  const auto other = apply(connector_yaml(
      {.ns = ns, .name = "copy-cdc", .api_version = "kafka.strimzi.io/v1beta2", .server_id = 184060}));
  ASSERT_FALSE(other.ok()) << other.describe();
  EXPECT_THAT(other.err, HasSubstr(ns + "/orders-cdc"));

  const auto registry = registry_now();
  int live = 0;
  for (const auto& e : entries_of(registry, ns + "/orders-cdc"))
    live += e.status != EntryStatus::Decommissioned && e.server_id == 184060u;
  EXPECT_EQ(live, 1) << install().registry_yaml();
  // Read back through v1beta2: the same object.
  const auto via_old = kubectl({"get", "kafkaconnectors.v1beta2.kafka.strimzi.io", "orders-cdc", "-n", ns,
                                "-o=jsonpath={.spec.config.database\\.server\\.id}"});
  ASSERT_TRUE(via_old.ok()) << via_old.describe();
  EXPECT_EQ(via_old.out, "184060");
}

TEST(OnlyV1, V1beta2IsNotServedAndV1IsJudged) {
  const auto ns = new_namespace("onlyv1");
  const auto old_api = apply(connector_yaml(
      {.ns = ns, .name = "old-cdc", .api_version = "kafka.strimzi.io/v1beta2", .server_id = 184080}));
  ASSERT_FALSE(old_api.ok());
  EXPECT_THAT(old_api.err,
              HasSubstr("no matches for kind \"KafkaConnector\" in version \"kafka.strimzi.io/v1beta2\""));
  ASSERT_TRUE(apply(connector_yaml({.ns = ns, .name = "new-cdc", .server_id = 184080})).ok());
  const auto dup = apply(connector_yaml({.ns = ns, .name = "dup-cdc", .server_id = 184080}));
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.err, HasSubstr(ns + "/new-cdc"));
}

}  // namespace
}  // namespace cdcguard::e2e
