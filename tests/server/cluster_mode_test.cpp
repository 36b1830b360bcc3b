// The webhook in cluster mode (registry ConfigMap, cluster cache) against the
// fake API server: readiness, the cluster view in the rules, idempotent and
// dry-run claims, and what happens when the API server is down.
#include "server/cluster_replica.hpp"

namespace cdcguard::testing_support {
namespace {

nlohmann::json new_connector_review(const std::string& name, const std::string& id,
                                    const std::string& prefix) {
  return connector_create_review("uid-" + name, name, id.empty() ? nlohmann::json() : nlohmann::json(id),
                                 prefix);
}

using ClusterMode = ClusterWebhookFixture;

class ClusterModeReady : public ClusterMode {
 protected:
  HttpReply readyz(ClusterReplica& replica) {
    TlsConnection c(replica.webhook->port(), trusting());
    return c.request("GET", "/readyz", "", "");
  }
};

TEST_F(ClusterModeReady, ReadyzWaitsForTheRegistryConfigMapAndTheCache) {
  api_->remove("ConfigMap", kRegistryNamespace, kRegistryName);
  auto& replica = add_replica(options());
  ASSERT_TRUE(eventually([&] { return replica.cache->synced(); }));
  const HttpReply waiting = readyz(replica);
  EXPECT_EQ(waiting.status, 503);
  EXPECT_NE(waiting.body.find("cdc-guard/registry"), std::string::npos) << waiting.body;
  api_->apply(registry_configmap(read_fixture_file("admission/registry.yaml")));
  EXPECT_TRUE(eventually([&] { return readyz(replica).status == 200; }));
}

TEST_F(ClusterMode, AClaimIsPendingWithItsRequestUidAndWrittenOnce) {
  auto& replica = add_replica(options());
  ASSERT_TRUE(eventually([&] { return replica.synced(); }));
  const int port = replica.webhook->port();
  // /mutate assigns and claims; /validate of the patched object finds the claim.
  auto body = new_connector_review("refunds-cdc", "", "refunds");
  const auto mutated = review_at(port, "/mutate", body);
  ASSERT_EQ(mutated["allowed"], true) << mutated.dump();
  const auto patch = nlohmann::json::parse(base64_decode(mutated["patch"]));
  const std::string id = patch[0]["value"];
  EXPECT_EQ(api_->counters().configmap_puts, 1);
  body["request"]["object"]["spec"]["config"]["database.server.id"] = id;
  const auto validated = review_at(port, "/validate", body);
  EXPECT_EQ(validated["allowed"], true) << validated.dump();
  EXPECT_EQ(review_at(port, "/mutate", body)["allowed"], true);  // reinvocation
  EXPECT_EQ(api_->counters().configmap_puts, 1) << "a claim that exists is not written again";
  const Registry r = registry();
  const RegistryEntry* claim =
      entry_of(r, "ecommerce/refunds-cdc", static_cast<std::uint32_t>(std::stoul(id)));
  ASSERT_NE(claim, nullptr) << registry_text();
  EXPECT_EQ(claim->status, EntryStatus::Pending);
  EXPECT_EQ(claim->claim_uid, "uid-refunds-cdc");
  EXPECT_EQ(claim->expires_at, kServerNow + std::chrono::minutes(5));
}

TEST_F(ClusterMode, DryRunIsJudgedAndWritesNothing) {
  auto& replica = add_replica(options());
  ASSERT_TRUE(eventually([&] { return replica.synced(); }));
  const auto answer = review_at(replica.webhook->port(), "/validate", fixture("create-new-id-dry-run.json"));
  EXPECT_EQ(answer["allowed"], true) << answer.dump();
  EXPECT_EQ(api_->counters().configmap_puts, 0);
  EXPECT_EQ(registry().entries.size(), 3u);
}

// A connector in the cluster that the registry does not know still counts:
// the topic rules compare against what the informers saw.
TEST_F(ClusterMode, TheRulesSeeTheConnectorsInTheCluster) {
  api_->apply(connector_object("payments", "ledger-cdc", "184550", "refunds"));
  auto& replica = add_replica(options());
  ASSERT_TRUE(
      eventually([&] { return replica.synced() && replica.cache->snapshot()->connectors.size() == 1; }));
  const int port = replica.webhook->port();
  const auto prefix = review_at(port, "/validate", new_connector_review("refunds-cdc", "184020", "refunds"));
  EXPECT_EQ(prefix["allowed"], false);
  const std::string message = prefix["status"]["message"];
  EXPECT_NE(message.find("topic-prefix-duplicate"), std::string::npos) << message;
  EXPECT_NE(message.find("payments/ledger-cdc"), std::string::npos) << message;
  // An id held by a connector in the cluster but not in the registry.
  const auto id = review_at(port, "/validate", new_connector_review("x-cdc", "184550", "x"));
  EXPECT_EQ(id["allowed"], false);
  EXPECT_NE(id["status"]["message"].get<std::string>().find("payments/ledger-cdc"), std::string::npos);
  EXPECT_EQ(api_->counters().configmap_puts, 0);
}

TEST_F(ClusterMode, AKafkaConnectSharingAGroupIdWithAnotherIsDenied) {
  nlohmann::json other = fixture("create-kafka-connect.json")["request"]["object"];
  other["metadata"]["name"] = "other-connect";
  other["metadata"]["namespace"] = "warehouse";
  api_->apply(other);
  auto& replica = add_replica(options());
  ASSERT_TRUE(eventually(
      [&] { return replica.synced() && replica.cache->snapshot()->connect_clusters.size() == 1; }));
  const auto answer = review_at(replica.webhook->port(), "/validate", fixture("create-kafka-connect.json"));
  EXPECT_EQ(answer["allowed"], false) << answer.dump();
  const std::string message = answer["status"]["message"];
  EXPECT_NE(message.find("connect-group-id-duplicate"), std::string::npos) << message;
  EXPECT_NE(message.find("warehouse/other-connect"), std::string::npos) << message;
}

TEST_F(ClusterMode, WithTheApiServerDownANewClaimIsDeniedWithTheReason) {
  auto& replica = add_replica(options());
  ASSERT_TRUE(eventually([&] { return replica.synced(); }));
  api_->stop();
  const int port = replica.webhook->port();
  const auto denied = review_at(port, "/validate", new_connector_review("refunds-cdc", "184020", "refunds"));
  EXPECT_EQ(denied["allowed"], false);
  EXPECT_EQ(denied["status"]["code"], 500);
  const std::string message = denied["status"]["message"];
  EXPECT_NE(message.find("cannot rule out a duplicate"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot reach the Kubernetes API server at " + api_->url()), std::string::npos)
      << message;
  const auto mutate = review_at(port, "/mutate", new_connector_review("auto-cdc", "", "auto"));
  EXPECT_EQ(mutate["allowed"], false);
  EXPECT_EQ(mutate["status"]["code"], 500);
  // A connector whose claim is already in the (cached) registry needs no write.
  const auto known = review_at(port, "/validate", fixture("create-registered-id.json"));
  EXPECT_EQ(known["allowed"], true) << known.dump();
}

TEST_F(ClusterMode, AllowFromCacheAdmitsWithAWarningButNeverAKnownDuplicate) {
  auto& replica = add_replica(options(), admission::OnApiError::AllowFromCache);
  ASSERT_TRUE(eventually([&] { return replica.synced(); }));
  api_->stop();
  const int port = replica.webhook->port();
  const auto admitted =
      review_at(port, "/validate", new_connector_review("refunds-cdc", "184020", "refunds"));
  EXPECT_EQ(admitted["allowed"], true) << admitted.dump();
  ASSERT_EQ(admitted["warnings"].size(), 1u) << admitted.dump();
  EXPECT_NE(admitted["warnings"][0].get<std::string>().find("without recording a claim"), std::string::npos);
  // 184001 belongs to ecommerce/orders-cdc in the cached registry.
  const auto duplicate = review_at(port, "/validate", new_connector_review("copy-cdc", "184001", "copy"));
  EXPECT_EQ(duplicate["allowed"], false);
  EXPECT_EQ(duplicate["status"]["code"], 403);
  EXPECT_NE(duplicate["status"]["message"].get<std::string>().find("ecommerce/orders-cdc"),
            std::string::npos);
}

}  // namespace
}  // namespace cdcguard::testing_support
