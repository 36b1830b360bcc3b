// The webhook behind a real kube-apiserver, driven by kubectl: what kubectl
// prints, and what the API server and the registry ConfigMap then hold.
#include "e2e/e2e_helpers.hpp"

namespace cdcguard::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Admission, DuplicateIdIsDeniedNamingTheRuleTheHolderAndTheNextFreeId) {
  const auto ns = new_namespace("dup");
  const auto first = apply(connector_yaml({.ns = ns, .name = "orders-cdc", .server_id = 184010}));
  ASSERT_TRUE(first.ok()) << with_logs(first);
  EXPECT_THAT(first.out, HasSubstr("kafkaconnector.kafka.strimzi.io/orders-cdc created"));

  const auto second = apply(connector_yaml({.ns = ns, .name = "refunds-cdc", .server_id = 184010}));
  ASSERT_FALSE(second.ok()) << second.describe();
  EXPECT_THAT(second.err, HasSubstr("admission webhook \"validate.cdc-guard.io\" denied the request"));
  EXPECT_THAT(second.err, HasSubstr("server-id-duplicate"));
  EXPECT_THAT(second.err, HasSubstr(ns + "/orders-cdc"));
  EXPECT_THAT(second.err, HasSubstr("next free id"));

  EXPECT_EQ(stored_server_id(ns, "orders-cdc"), "184010");
  EXPECT_EQ(stored_server_id(ns, "refunds-cdc"), std::nullopt);
  const auto registry = registry_now();
  const auto holder = live_entry(registry, ns + "/orders-cdc");
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->server_id, 184010u);
  EXPECT_TRUE(entries_of(registry, ns + "/refunds-cdc").empty());
}

TEST(Admission, AConnectorWithoutAnIdIsStoredWithTheIdTheRegistryHoldsForIt) {
  const auto ns = new_namespace("auto");
  const auto r = apply(connector_yaml({.ns = ns, .name = "stock-cdc", .history_topic = "-"}));
  ASSERT_TRUE(r.ok()) << with_logs(r);
  const auto id = stored_server_id(ns, "stock-cdc");
  ASSERT_TRUE(id && !id->empty()) << "no server id stored";
  const auto history = stored(ns, "stock-cdc", "{.spec.config.schema\\.history\\.internal\\.kafka\\.topic}");
  EXPECT_EQ(history, "schema-history." + ns + ".stock-cdc");

  auto entry = live_entry(registry_now(), ns + "/stock-cdc");
  ASSERT_TRUE(entry.has_value()) << install().registry_yaml();
  EXPECT_EQ(std::to_string(entry->server_id), *id);
  EXPECT_TRUE(entry->status == EntryStatus::Pending || entry->status == EntryStatus::Active);
  // Once a replica's cache has seen the stored connector, the claim is Active.
  EXPECT_TRUE(eventually([&] {
    const auto e = live_entry(registry_now(), ns + "/stock-cdc");
    return e && e->status == EntryStatus::Active && std::to_string(e->server_id) == *id;
  })) << install().registry_yaml();
}

TEST(Admission, ServerSideDryRunGivesTheSameVerdictAndLeavesTheRegistryAlone) {
  const auto ns = new_namespace("dry");
  ASSERT_TRUE(apply(connector_yaml({.ns = ns, .name = "holder-cdc", .server_id = 184020})).ok());
  // The reconciler confirms the holder's claim; read the registry after that.
  ASSERT_TRUE(eventually([&] {
    const auto e = live_entry(registry_now(), ns + "/holder-cdc");
    return e && e->status == EntryStatus::Active && !e->uid.empty();
  })) << install().registry_yaml();
  const std::string before = install().registry_yaml();

  const auto dup =
      apply(connector_yaml({.ns = ns, .name = "copy-cdc", .server_id = 184020}), {"--dry-run=server"});
  ASSERT_FALSE(dup.ok()) << dup.describe();
  EXPECT_THAT(dup.err, HasSubstr("server-id-duplicate"));
  EXPECT_THAT(dup.err, HasSubstr(ns + "/holder-cdc"));

  const auto fresh =
      apply(connector_yaml({.ns = ns, .name = "fresh-cdc", .server_id = 184021}), {"--dry-run=server"});
  ASSERT_TRUE(fresh.ok()) << with_logs(fresh);
  EXPECT_THAT(fresh.out, HasSubstr("created (server dry run)"));
  const auto assigned =
      apply(connector_yaml({.ns = ns, .name = "auto-cdc"}), {"--dry-run=server", "-o=yaml"});
  ASSERT_TRUE(assigned.ok()) << with_logs(assigned);
  EXPECT_THAT(assigned.out, HasSubstr("database.server.id:")) << "the dry run shows the id it would assign";

  EXPECT_EQ(install().registry_yaml(), before);
  EXPECT_EQ(stored_server_id(ns, "fresh-cdc"), std::nullopt);
  EXPECT_EQ(stored_server_id(ns, "auto-cdc"), std::nullopt);
}

}  // namespace
}  // namespace cdcguard::e2e

namespace cdcguard::e2e {
namespace {

using ::testing::HasSubstr;

const std::string kMerge = "--type=merge";

std::string id_patch(long id) {
  return R"({"spec":{"config":{"database.server.id":)" + std::to_string(id) + "}}}";
}

TEST(Admission, ServerSideApplyPatchAndReplaceAreEachJudged) {
  const auto ns = new_namespace("verbs");
  const auto a = apply(connector_yaml({.ns = ns, .name = "a-cdc", .server_id = 184030}),
                       {"--server-side", "--field-manager=e2e"});
  ASSERT_TRUE(a.ok()) << with_logs(a);
  EXPECT_THAT(a.out, HasSubstr("serverside-applied"));
  ASSERT_TRUE(create(connector_yaml({.ns = ns, .name = "b-cdc", .server_id = 184031})).ok());

  // kubectl patch onto a held id: denied, naming the holder.
  const auto patched =
      kubectl({"patch", "kafkaconnector", "b-cdc", "-n", ns, kMerge, "-p", id_patch(184030)});
  ASSERT_FALSE(patched.ok()) << patched.describe();
  EXPECT_THAT(patched.err, HasSubstr("server-id-duplicate"));
  EXPECT_THAT(patched.err, HasSubstr(ns + "/a-cdc"));
  // kubectl replace onto it: denied too.
  const auto replaced =
      kubectl({"replace", "-f", "-"}, connector_yaml({.ns = ns, .name = "b-cdc", .server_id = 184030}));
  ASSERT_FALSE(replaced.ok()) << replaced.describe();
  EXPECT_THAT(replaced.err, HasSubstr(ns + "/a-cdc"));
  // server-side apply of a second connector onto it: denied.
  const auto ssa = apply(connector_yaml({.ns = ns, .name = "c-cdc", .server_id = 184030}),
                         {"--server-side", "--field-manager=e2e"});
  ASSERT_FALSE(ssa.ok()) << ssa.describe();
  EXPECT_THAT(ssa.err, HasSubstr(ns + "/a-cdc"));
  EXPECT_EQ(stored_server_id(ns, "b-cdc"), "184031");

  // Moving b-cdc to a free id: admitted, and its old id goes into embargo.
  const auto moved = kubectl({"patch", "kafkaconnector", "b-cdc", "-n", ns, kMerge, "-p", id_patch(184032)});
  ASSERT_TRUE(moved.ok()) << with_logs(moved);
  EXPECT_EQ(stored_server_id(ns, "b-cdc"), "184032");
  const auto registry = registry_now();
  const auto live = live_entry(registry, ns + "/b-cdc");
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->server_id, 184032u);
  bool old_embargoed = false;
  for (const auto& e : entries_of(registry, ns + "/b-cdc"))
    old_embargoed |= e.server_id == 184031u && e.status == EntryStatus::Decommissioned && e.decommissioned_at;
  EXPECT_TRUE(old_embargoed) << install().registry_yaml();
  const auto reuse = create(connector_yaml({.ns = ns, .name = "d-cdc", .server_id = 184031}));
  ASSERT_FALSE(reuse.ok()) << reuse.describe();
  EXPECT_THAT(reuse.err, HasSubstr("server-id-embargoed"));
}

// Connectors that broke a rule before the webhook was registered: metadata
// changes, finalizers and deletion go through, with the violation as a warning.
TEST(Admission, ExistingViolationsAreRatchetedThroughMetadataChangesFinalizersAndDeletion) {
  const auto ns = new_namespace("ratchet");
  install().unregister_webhooks();
  const auto a = create(connector_yaml({.ns = ns, .name = "first-cdc", .server_id = 184040}));
  const auto b = create(connector_yaml({.ns = ns, .name = "second-cdc", .server_id = 184040}));
  install().register_webhooks();
  ASSERT_TRUE(a.ok()) << a.describe();
  ASSERT_TRUE(b.ok()) << b.describe();
  // Once the replicas' caches hold both, a third copy is refused naming one of them.
  ASSERT_TRUE(eventually([&] {
    const auto r =
        apply(connector_yaml({.ns = ns, .name = "third-cdc", .server_id = 184040}), {"--dry-run=server"});
    return !r.ok() && r.err.find("server-id-duplicate") != std::string::npos;
  }));

  const auto labelled = kubectl({"label", "kafkaconnector", "second-cdc", "-n", ns, "team=payments"});
  ASSERT_TRUE(labelled.ok()) << with_logs(labelled);
  EXPECT_THAT(labelled.err, HasSubstr("Warning:"));
  EXPECT_THAT(labelled.err, HasSubstr("server-id-duplicate"));
  const auto annotated = kubectl({"annotate", "kafkaconnector", "second-cdc", "-n", ns, "note=migrating"});
  ASSERT_TRUE(annotated.ok()) << with_logs(annotated);
  EXPECT_THAT(annotated.err, HasSubstr("Warning:"));
  const auto finalized = kubectl({"patch", "kafkaconnector", "second-cdc", "-n", ns, kMerge, "-p",
                                  R"({"metadata":{"finalizers":["e2e.cdc-guard.io/hold"]}})"});
  ASSERT_TRUE(finalized.ok()) << with_logs(finalized);
  const auto deleting = kubectl({"delete", "kafkaconnector", "second-cdc", "-n", ns, "--wait=false"});
  ASSERT_TRUE(deleting.ok()) << deleting.describe();
  EXPECT_TRUE(stored(ns, "second-cdc", "{.metadata.deletionTimestamp}").value_or("").size() > 0);
  const auto released = kubectl({"patch", "kafkaconnector", "second-cdc", "-n", ns, kMerge, "-p",
                                 R"({"metadata":{"finalizers":null}})"});
  ASSERT_TRUE(released.ok()) << with_logs(released);
  EXPECT_TRUE(eventually([&] { return !stored(ns, "second-cdc", "{.metadata.name}"); }));
  // A change of the id itself is judged, not ratcheted.
  const auto changed =
      kubectl({"patch", "kafkaconnector", "first-cdc", "-n", ns, kMerge, "-p", id_patch(184999)});
  ASSERT_FALSE(changed.ok()) << changed.describe();
  EXPECT_THAT(changed.err, HasSubstr("server-id-reserved"));
}

// /mutate runs before the API server generates the name; /validate after.
TEST(Admission, GenerateNameIsJudgedUnderTheFinalNameAndNoInvalidKeyIsRecorded) {
  const auto ns = new_namespace("gen");
  const auto r = create(connector_yaml({.ns = ns, .generate_name = "gen-cdc-", .server_id = 184050}));
  ASSERT_TRUE(r.ok()) << with_logs(r);
  const std::string prefix = "kafkaconnector.kafka.strimzi.io/";
  ASSERT_THAT(r.out, HasSubstr(prefix + "gen-cdc-"));
  const auto start = r.out.find(prefix) + prefix.size();
  const std::string name = r.out.substr(start, r.out.find(' ', start) - start);
  ASSERT_GT(name.size(), std::string("gen-cdc-").size());

  // A second generated connector on the same id is denied, naming the first by its final name.
  const auto dup = create(connector_yaml({.ns = ns, .generate_name = "gen-cdc-", .server_id = 184050}));
  ASSERT_FALSE(dup.ok()) << dup.describe();
  EXPECT_THAT(dup.err, HasSubstr(ns + "/" + name));

  // Without an id: /mutate cannot claim for a name that does not exist yet, so
  // it assigns none and warns; /validate then denies under the final name,
  // saying what to do.
  const auto unnamed = create(connector_yaml({.ns = ns, .generate_name = "auto-cdc-"}));
  ASSERT_FALSE(unnamed.ok()) << unnamed.describe();
  EXPECT_THAT(unnamed.err,
              HasSubstr("Warning: cdc-guard assigned no server id: no metadata.name yet (generateName)"));
  EXPECT_THAT(unnamed.err, HasSubstr("[server-id-missing]"));
  EXPECT_THAT(unnamed.err, HasSubstr("KafkaConnector " + ns + "/auto-cdc-")) << "judged under its final name";
  EXPECT_THAT(unnamed.err, HasSubstr("set metadata.name, or set spec.config.database.server.id"));

  const auto registry = registry_now();  // parses: every key is a valid namespace/name
  const auto entry = live_entry(registry, ns + "/" + name);
  ASSERT_TRUE(entry.has_value()) << install().registry_yaml();
  EXPECT_EQ(entry->server_id, 184050u);
  for (const auto& e : registry.entries) {
    EXPECT_NE(e.connector.back(), '/') << e.connector;
    EXPECT_NE(e.connector.back(), '-') << e.connector;
  }
}

// Every replica stopped: failurePolicy Fail, so the API server refuses the
// write with its own message; one replica back, and writes go through.
TEST(Admission, WithEveryReplicaDownWritesFailAndComeBackWithOne) {
  const auto ns = new_namespace("down");
  for (std::size_t i = 0; i < install().replicas(); ++i) install().stop_replica(i);
  const auto refused = apply(connector_yaml({.ns = ns, .name = "while-down-cdc", .server_id = 184070}));
  install().start_replica(0);
  install().wait_ready(0);
  const auto back = apply(connector_yaml({.ns = ns, .name = "while-down-cdc", .server_id = 184070}));
  for (std::size_t i = 1; i < install().replicas(); ++i) install().start_replica(i);
  install().wait_ready();

  ASSERT_FALSE(refused.ok()) << refused.describe();
  EXPECT_THAT(refused.err, HasSubstr("failed calling webhook"));
  ASSERT_TRUE(back.ok()) << with_logs(back);
  EXPECT_EQ(stored_server_id(ns, "while-down-cdc"), "184070");
}

}  // namespace
}  // namespace cdcguard::e2e

namespace cdcguard::e2e {
namespace {

using ::testing::HasSubstr;

std::string connect_yaml(const std::string& ns, const std::string& name, const std::string& group) {
  return "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnect\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns +
         "\nspec:\n  replicas: 1\n  bootstrapServers: kafka-kafka-bootstrap.kafka:9092\n  groupId: " + group +
         "\n  configStorageTopic: " + group + "-configs\n  statusStorageTopic: " + group +
         "-status\n  offsetStorageTopic: " + group + "-offsets\n";
}

// KafkaConnects go through /validate too: two Connect clusters on one Kafka
// sharing a group.id would join one group.
TEST(Admission, AKafkaConnectSharingAnotherOnesGroupIdIsDenied) {
  const auto ns = new_namespace("connect");
  const auto first = apply(connect_yaml(ns, "cdc-connect", ns + "-group"));
  ASSERT_TRUE(first.ok()) << with_logs(first);
  // Denied once the replicas' caches hold the first (the registry does not record Connect clusters).
  ASSERT_TRUE(eventually(
      [&] { return !apply(connect_yaml(ns, "copy-connect", ns + "-group"), {"--dry-run=server"}).ok(); }));
  const auto second = apply(connect_yaml(ns, "copy-connect", ns + "-group"));
  ASSERT_FALSE(second.ok()) << second.describe();
  EXPECT_THAT(second.err, HasSubstr("admission webhook \"validate.cdc-guard.io\" denied the request"));
  EXPECT_THAT(second.err, HasSubstr("connect-group-id-duplicate"));
  EXPECT_THAT(second.err, HasSubstr(ns + "/cdc-connect"));
  EXPECT_FALSE(kubectl({"get", "kafkaconnect", "copy-connect", "-n", ns}).ok());
}

}  // namespace
}  // namespace cdcguard::e2e
