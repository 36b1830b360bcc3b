#pragma once

#include <memory>
#include <string>

#include "cdcguard/kube/cluster_cache.hpp"
#include "cdcguard/kube/configmap_registry_store.hpp"
#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/server/webhook_server.hpp"
#include "kube/kube_fixture.hpp"
#include "server/server_fixture.hpp"

// One webhook replica in cluster mode, as `serve --registry-configmap` wires
// it: its own API client, registry ConfigMap store and cluster cache, and a
// real HTTPS listener on an ephemeral port.
namespace cdcguard::testing_support {

struct ClusterReplica {
  ClusterReplica(const kube::ClusterConfig& cluster, const kube::ClientOptions& client_options,
                 server::ServerOptions options, server::EventLog& log, admission::OnApiError on_api_error)
      : client(cluster, client_options) {
    kube::ConfigMapRegistryStore::Options store_options;
    store_options.informer.backoff_base = std::chrono::milliseconds(20);
    store_options.informer.backoff_max = std::chrono::milliseconds(200);
    // These tests are about the race, not the 4 s deadline (tested on a fake
    // clock in configmap_store_writer_test.cpp): on a loaded machine under
    // ASan, claims may queue longer than that.
    store_options.deadline = std::chrono::milliseconds(30000);
    store = std::make_unique<kube::ConfigMapRegistryStore>(client, kRegistryNamespace, kRegistryName,
                                                           store_options);
    kube::ClusterCache::Options cache_options;
    cache_options.informer = store_options.informer;
    cache = std::make_unique<kube::ClusterCache>(client, cache_options);
    options.handler.cluster = [c = cache.get()] { return c->snapshot(); };
    options.handler.pending_claims = true;
    options.handler.on_api_error = on_api_error;
    options.not_ready = [c = cache.get(), s = store.get()]() -> std::string {
      if (!s->synced()) return s->status();
      if (!c->synced()) return c->status();
      return "";
    };
    store->start();
    cache->start();
    webhook = std::make_unique<server::WebhookServer>(options, *store, log, [] { return kServerNow; });
    webhook->start();
  }
  ~ClusterReplica() { stop(); }
  void stop() {
    if (webhook) webhook->stop();
    client.stop_streams();
    cache->stop();
    store->stop();
  }
  bool synced() const { return store->synced() && cache->synced(); }

  kube::KubeClient client;
  std::unique_ptr<kube::ConfigMapRegistryStore> store;
  std::unique_ptr<kube::ClusterCache> cache;
  std::unique_ptr<server::WebhookServer> webhook;
};

// The fake cluster plus the webhook fixture's certificate, log and requests.
class ClusterWebhookFixture : public WebhookServerFixture {
 protected:
  void SetUp() override {
    WebhookServerFixture::SetUp();
    api_ = std::make_unique<FakeApiServer>(ca_.issue("kube-apiserver"));
    api_->start();
    token_path_ = (dir_ / "token").string();
    write_text_file(token_path_, "test-token");
    api_->apply(registry_configmap(read_fixture_file("admission/registry.yaml")));
  }
  void TearDown() override {
    replicas_.clear();
    WebhookServerFixture::TearDown();
    if (api_) api_->stop();
  }
  kube::ClusterConfig cluster_config() const { return fake_cluster_config(*api_, ca_, token_path_); }
  ClusterReplica& add_replica(server::ServerOptions o,
                              admission::OnApiError on_api_error = admission::OnApiError::Deny) {
    replicas_.push_back(
        std::make_unique<ClusterReplica>(cluster_config(), fast_client_options(), o, *log_, on_api_error));
    return *replicas_.back();
  }
  std::string registry_text() const {
    const auto cm = api_->get("ConfigMap", kRegistryNamespace, kRegistryName);
    return cm ? (*cm)["data"]["registry.yaml"].get<std::string>() : "";
  }
  Registry registry() const { return parse_registry(registry_text(), "registry.yaml"); }
  nlohmann::json review_at(int port, const std::string& path, const nlohmann::json& body) {
    TlsConnection c(port, trusting());
    const HttpReply reply = c.request("POST", path, body.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    return nlohmann::json::parse(reply.body)["response"];
  }

  std::unique_ptr<FakeApiServer> api_;
  std::string token_path_;
  std::vector<std::unique_ptr<ClusterReplica>> replicas_;
};

}  // namespace cdcguard::testing_support
