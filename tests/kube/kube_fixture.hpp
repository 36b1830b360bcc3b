#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "support/fake_api_server.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

// A fake API server (see support/fake_api_server.hpp: it stands in for
// kube-apiserver, which cannot run on the CI machines) holding the registry
// ConfigMap cdc-guard/registry, and clients of it that authenticate with a
// token file, as a pod does.
namespace cdcguard::testing_support {

inline constexpr const char* kRegistryNamespace = "cdc-guard";
inline constexpr const char* kRegistryName = "registry";

// Polls `done` until it holds or `limit` passes. The limit only keeps a
// broken test from hanging (a condition that holds returns at once): it is no
// claim about speed, so it is generous enough for a loaded machine under ASan.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(30000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// A Pending claim of `connector` on `id`, made at 10:00 on 2026-11-25 for five minutes.
inline RegistryEntry pending_claim(const std::string& connector, std::uint32_t id) {
  RegistryEntry e;
  e.connector = connector;
  e.server_id = id;
  e.status = EntryStatus::Pending;
  e.claim_uid = "uid-" + connector;
  e.date = date_of(*parse_timestamp("2026-11-25T10:00:00Z"));
  e.expires_at = *parse_timestamp("2026-11-25T10:05:00Z");
  return e;
}

inline nlohmann::json registry_configmap(const std::string& registry_yaml) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", kRegistryName},
            {"namespace", kRegistryNamespace},
            {"labels", {{"app.kubernetes.io/name", "cdc-guard"}}}}},
          {"data", {{"registry.yaml", registry_yaml}, {"README", "kept as is"}}}};
}

// A KafkaConnector as the API server stores it.
inline nlohmann::json connector_object(const std::string& namespace_name, const std::string& name,
                                       const std::string& server_id, const std::string& prefix,
                                       const std::string& version = "v1") {
  nlohmann::json config = {{"database.hostname", "mysql." + namespace_name + ".svc"},
                           {"database.port", "3306"},
                           {"topic.prefix", prefix},
                           {"database.include.list", prefix},
                           {"schema.history.internal.kafka.bootstrap.servers", "cdc-kafka-bootstrap:9092"},
                           {"schema.history.internal.kafka.topic", "schema-history." + prefix}};
  if (!server_id.empty()) config["database.server.id"] = server_id;
  return {
      {"apiVersion", "kafka.strimzi.io/" + version},
      {"kind", "KafkaConnector"},
      {"metadata",
       {{"name", name}, {"namespace", namespace_name}, {"labels", {{"strimzi.io/cluster", "cdc-connect"}}}}},
      {"spec",
       {{"class", "io.debezium.connector.mysql.MySqlConnector"}, {"tasksMax", 1}, {"config", config}}}};
}

// How a pod would reach the fake: its URL, the CA that signed it, a token file.
inline kube::ClusterConfig fake_cluster_config(const FakeApiServer& api, const TestCa& ca,
                                               const std::string& token_path) {
  kube::ClusterConfig c;
  c.server = api.url();
  c.host = "127.0.0.1";
  c.port = api.port();
  c.ca_pem = ca.cert_pem();
  c.token_file = token_path;
  c.source = "test";
  return c;
}

// Short backoffs, so failure tests take milliseconds. The timeouts are hang
// guards, not claims about speed: a TLS handshake under ASan on a loaded
// machine can take seconds, and no test here waits for one to expire (a
// stopped fake refuses connections at once).
inline kube::ClientOptions fast_client_options() {
  kube::ClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(30000);
  o.request_timeout = std::chrono::milliseconds(30000);
  o.max_attempts = 3;
  o.backoff_base = std::chrono::milliseconds(10);
  o.backoff_max = std::chrono::milliseconds(100);
  o.token_check_interval = std::chrono::milliseconds(20);
  return o;
}

class FakeClusterFixture : public testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_unique<FakeApiServer>(ca_.issue("kube-apiserver"), fake_options());
    api_->start();
    token_path_ = (dir_ / "token").string();
    write_text_file(token_path_, "test-token");
    api_->apply(registry_configmap(read_fixture_file("admission/registry.yaml")));
  }
  void TearDown() override {
    if (api_) api_->stop();
  }
  virtual FakeApiServer::Options fake_options() const { return {}; }

  kube::ClusterConfig cluster_config() const { return fake_cluster_config(*api_, ca_, token_path_); }
  std::unique_ptr<kube::KubeClient> client(kube::ClientOptions options = fast_client()) const {
    return std::make_unique<kube::KubeClient>(cluster_config(), options);
  }
  static kube::ClientOptions fast_client() { return fast_client_options(); }
  // A kubeconfig for `serve --kubeconfig`: the fake's URL, CA file and token file.
  std::string write_kubeconfig() const {
    const auto ca_path = (dir_ / "ca.crt").string();
    write_text_file(ca_path, ca_.cert_pem());
    const auto path = (dir_ / "kubeconfig").string();
    write_text_file(path,
                    "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
                    "clusters:\n- name: fake\n  cluster:\n    server: " +
                        api_->url() + "\n    certificate-authority: " + ca_path +
                        "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: webhook\n"
                        "users:\n- name: webhook\n  user:\n    tokenFile: " +
                        token_path_ + "\n");
    return path;
  }

  std::string registry_text() const {
    const auto cm = api_->get("ConfigMap", kRegistryNamespace, kRegistryName);
    return cm ? (*cm)["data"]["registry.yaml"].get<std::string>() : "";
  }
  Registry registry() const { return parse_registry(registry_text(), "registry.yaml"); }

  TestCa ca_;
  TempDir dir_{"cdcguard-kube"};
  std::string token_path_;
  std::unique_ptr<FakeApiServer> api_;
};

}  // namespace cdcguard::testing_support
