// The cluster cache (informers over KafkaConnectors and KafkaConnects)
// against the fake API server: discovery, live events, a dropped watch, a 410
// after compaction, namespaces, and a rotated service-account token.
#include "cdcguard/kube/cluster_cache.hpp"
#include "kube/kube_fixture.hpp"

namespace cdcguard::testing_support {
namespace {

using std::chrono::milliseconds;

class ClusterCacheTest : public FakeClusterFixture {
 protected:
  void TearDown() override {
    if (client_) client_->stop_streams();
    if (cache_) cache_->stop();
    FakeClusterFixture::TearDown();
  }
  kube::ClusterCache& start_cache(std::vector<std::string> namespaces = {}) {
    kube::ClusterCache::Options o;
    o.namespaces = std::move(namespaces);
    o.informer.backoff_base = milliseconds(20);
    o.informer.backoff_max = milliseconds(200);
    client_ = client();
    cache_ = std::make_unique<kube::ClusterCache>(*client_, o);
    cache_->start();
    return *cache_;
  }
  const ConnectorFacts* find(const std::string& key) const {
    return cache_->snapshot()->connectors.find(key);
  }

  std::unique_ptr<kube::KubeClient> client_;
  std::unique_ptr<kube::ClusterCache> cache_;
};

nlohmann::json connect_object(const std::string& ns, const std::string& name, const std::string& group) {
  return {{"apiVersion", "kafka.strimzi.io/v1"},
          {"kind", "KafkaConnect"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"bootstrapServers", "cdc-kafka-bootstrap:9092"},
            {"groupId", group},
            {"offsetStorageTopic", group + "-offsets"},
            {"configStorageTopic", group + "-configs"},
            {"statusStorageTopic", group + "-status"}}}};
}

TEST_F(ClusterCacheTest, ListsEveryConnectorAndConnectClusterThenFollowsTheirChanges) {
  api_->apply(connector_object("ecommerce", "orders-cdc", "184001", "orders"));
  api_->apply(connector_object("warehouse", "stock-cdc", "184101", "stock"));
  api_->apply(connect_object("ecommerce", "cdc-connect", "cdc-connect-group"));
  auto& cache = start_cache();
  ASSERT_TRUE(eventually([&] { return cache.synced(); })) << cache.status();
  EXPECT_EQ(cache.strimzi_version(), "v1");
  EXPECT_EQ(cache.status(), "synced");
  ASSERT_NE(find("ecommerce/orders-cdc"), nullptr);
  EXPECT_EQ(find("ecommerce/orders-cdc")->server_id.id, 184001u);
  EXPECT_EQ(find("warehouse/stock-cdc")->topic_prefix.value, "stock");
  ASSERT_EQ(cache.snapshot()->connect_clusters.size(), 1u);
  EXPECT_EQ(cache.snapshot()->connect_clusters[0].group_id.value, "cdc-connect-group");

  api_->apply(connector_object("ecommerce", "orders-cdc", "184007", "orders"));    // MODIFIED
  api_->apply(connector_object("ecommerce", "billing-cdc", "184008", "billing"));  // ADDED
  api_->remove("KafkaConnector", "warehouse", "stock-cdc");                        // DELETED
  EXPECT_TRUE(eventually([&] {
    const auto* orders = find("ecommerce/orders-cdc");
    return orders && orders->server_id.id == 184007u && find("ecommerce/billing-cdc") &&
           !find("warehouse/stock-cdc");
  }));
  EXPECT_EQ(cache.snapshot()->connectors.with_server_id(184007).size(), 1u);
  EXPECT_EQ(api_->counters().lists, 2) << "one LIST per resource, then only watches";
}

class V1beta2OnlyCluster : public ClusterCacheTest {
 protected:
  FakeApiServer::Options fake_options() const override {
    FakeApiServer::Options o;
    o.strimzi_versions = {"v1beta2"};
    return o;
  }
};

TEST_F(V1beta2OnlyCluster, UsesTheVersionTheClusterServes) {
  api_->apply(connector_object("ecommerce", "orders-cdc", "184001", "orders", "v1beta2"));
  auto& cache = start_cache();
  ASSERT_TRUE(eventually([&] { return cache.synced(); })) << cache.status();
  EXPECT_EQ(cache.strimzi_version(), "v1beta2");
  EXPECT_NE(find("ecommerce/orders-cdc"), nullptr);
}

TEST_F(ClusterCacheTest, ADroppedWatchIsReopenedFromItsResourceVersion) {
  auto& cache = start_cache();
  ASSERT_TRUE(eventually([&] { return cache.synced(); }));
  const int lists = api_->counters().lists;
  for (int round = 0; round < 3; ++round) {
    const std::string n = std::to_string(round);
    const int watches = api_->counters().watches;
    api_->drop_watches();
    ASSERT_TRUE(eventually([&] { return api_->counters().watches >= watches + 2; })) << "not reopened";
    api_->apply(connector_object("ecommerce", std::string("c").append(n), std::to_string(184010 + round),
                                 std::string("p").append(n)));
    EXPECT_TRUE(eventually([&] { return find(std::string("ecommerce/c").append(n)) != nullptr; }))
        << "round " << round;
  }
  EXPECT_EQ(api_->counters().lists, lists) << "a dropped watch with a valid resourceVersion needs no LIST";
}

// The API server restarts and compacts its history while the watch is down:
// the reconnecting watch gets an ERROR event carrying a 410 Status, and only a
// fresh LIST can tell which objects vanished meanwhile.
TEST_F(ClusterCacheTest, AnExpiredResourceVersionLeadsToAFreshList) {
  api_->apply(connector_object("ecommerce", "gone-cdc", "184020", "gone"));
  auto& cache = start_cache();
  ASSERT_TRUE(eventually([&] { return cache.synced() && find("ecommerce/gone-cdc"); }));
  const int lists = api_->counters().lists;
  const int port = api_->port();
  api_->stop();
  api_->remove("KafkaConnector", "ecommerce", "gone-cdc");
  api_->apply(connector_object("ecommerce", "new-cdc", "184021", "new"));
  api_->compact();
  api_->start(port);
  EXPECT_TRUE(eventually([&] { return !find("ecommerce/gone-cdc") && find("ecommerce/new-cdc"); }));
  EXPECT_GE(api_->counters().gone, 1);
  EXPECT_GT(api_->counters().lists, lists);
  // And it keeps watching after the relist.
  api_->apply(connector_object("ecommerce", "later-cdc", "184022", "later"));
  EXPECT_TRUE(eventually([&] { return find("ecommerce/later-cdc") != nullptr; }));
}

TEST_F(ClusterCacheTest, WatchesOnlyTheNamespacesGiven) {
  api_->apply(connector_object("ecommerce", "orders-cdc", "184001", "orders"));
  api_->apply(connector_object("warehouse", "stock-cdc", "184101", "stock"));
  api_->apply(connector_object("other", "x-cdc", "184500", "x"));
  auto& cache = start_cache({"ecommerce", "warehouse"});
  ASSERT_TRUE(eventually([&] { return cache.synced(); }));
  EXPECT_NE(find("ecommerce/orders-cdc"), nullptr);
  EXPECT_NE(find("warehouse/stock-cdc"), nullptr);
  EXPECT_EQ(find("other/x-cdc"), nullptr);
  api_->apply(connector_object("other", "y-cdc", "184501", "y"));
  api_->apply(connector_object("warehouse", "z-cdc", "184102", "z"));
  EXPECT_TRUE(eventually([&] { return find("warehouse/z-cdc") != nullptr; }));
  EXPECT_EQ(find("other/y-cdc"), nullptr);
}

// The kubelet rotates a projected service-account token by replacing the file;
// the old token stops working at some point. Requests carry the new one.
TEST_F(ClusterCacheTest, ARotatedTokenIsPickedUpFromItsFile) {
  auto& cache = start_cache();
  ASSERT_TRUE(eventually([&] { return cache.synced(); }));
  api_->set_tokens({"rotated-token"});
  replace_file(token_path_, "rotated-token");
  api_->drop_watches();  // the watch reconnects, now with the new token
  api_->apply(connector_object("ecommerce", "after-rotation", "184030", "after"));
  EXPECT_TRUE(eventually([&] { return find("ecommerce/after-rotation") != nullptr; }));
  // The other informer may still be one 401 away from re-reading the file.
  EXPECT_TRUE(eventually([&] {
    const auto seen = api_->tokens_seen();
    return !seen.empty() && seen.back() == "rotated-token";
  }));
}

TEST_F(ClusterCacheTest, IsNotSyncedWhileStrimziIsNotInstalledAndSaysWhy) {
  api_->stop();
  auto& cache = start_cache();
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(cache.synced());
  EXPECT_NE(cache.status().find("kafka.strimzi.io"), std::string::npos) << cache.status();
}

}  // namespace
}  // namespace cdcguard::testing_support
