#include <cstdlib>
#include <iostream>
#include <mutex>

#include <gtest/gtest.h>

#include "e2e/e2e_environment.hpp"
#include "support/temp_dir.hpp"

namespace cdcguard::e2e {

namespace {

E2eWorld* g_world = nullptr;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    try {
      const char* strimzi = std::getenv("CDCGUARD_E2E_STRIMZI");
      world_.strimzi = strimzi && *strimzi ? strimzi : "0.50.0";
      const auto tools = kube_tools_dir();
      temp_ = std::make_unique<testing_support::TempDir>("cdcguard-e2e");
      world_.dir = temp_->path();
      std::cerr << "[e2e] tools " << tools.string() << ", working folder " << world_.dir.string()
                << ", Strimzi CRDs " << world_.strimzi << "\n";
      world_.cluster = std::make_unique<ControlPlane>(tools, world_.dir / "cluster");
      std::cerr << "[e2e] kube-apiserver ready at " << world_.cluster->server_url() << "\n";
      InstallOptions install;
      install.strimzi = world_.strimzi;
      // The reconciler at test pace: claims lapse after 10 s, passes every
      // 2 s besides watch events, a dead leader is replaced after 8 s.
      // The audit after every pass (day2_e2e.cpp counts its Events).
      install.extra_serve_args = {"--claim-ttl=10",      "--resync-period=2s", "--lease-duration=8s",
                                  "--renew-deadline=5s", "--retry-period=1s",  "--audit-period=1s"};
      world_.install = std::make_unique<CdcGuardInstall>(*world_.cluster, install);
      std::cerr << "[e2e] cdc-guard: " << world_.install->replicas()
                << " replicas ready behind 127.0.0.1:" << world_.install->balancer().port() << "\n";
      g_world = &world_;
    } catch (const std::exception& e) {
      // Without a control plane no test can run: fail the binary, loudly.
      std::cerr << "[e2e] setting up the control plane failed: " << e.what() << "\n";
      std::exit(1);
    }
  }

  void TearDown() override {
    const char* keep = std::getenv("CDCGUARD_E2E_KEEP");
    const bool keep_dir = (keep && std::string(keep) == "1") || ::testing::UnitTest::GetInstance()->Failed();
    world_.install.reset();
    world_.cluster.reset();
    g_world = nullptr;
    if (keep_dir) {
      // Leak the TempDir on purpose: its logs explain the failure.
      std::cerr << "[e2e] kept " << world_.dir.string() << " (logs and kubeconfigs)\n";
      (void)temp_.release();
    }
    temp_.reset();
  }

 private:
  E2eWorld world_;
  std::unique_ptr<testing_support::TempDir> temp_;
};

}  // namespace

E2eWorld& world() {
  if (!g_world) throw std::logic_error("the e2e world is not set up");
  return *g_world;
}

std::string new_namespace(const std::string& stem) {
  static std::mutex mutex;
  static int counter = 0;
  std::string name;
  {
    std::lock_guard guard(mutex);
    name = stem + "-" + std::to_string(++counter);
  }
  world().cluster->must({"create", "namespace", name});
  return name;
}

std::string connector_yaml(const ConnectorSpec& s) {
  const std::string prefix =
      s.topic_prefix.empty() ? s.ns + "." + (s.name.empty() ? s.generate_name : s.name) : s.topic_prefix;
  std::string y = "apiVersion: " + s.api_version + "\nkind: KafkaConnector\nmetadata:\n";
  if (!s.name.empty()) y += "  name: " + s.name + "\n";
  if (!s.generate_name.empty()) y += "  generateName: " + s.generate_name + "\n";
  y += "  namespace: " + s.ns + "\n  labels:\n    strimzi.io/cluster: cdc-connect\n" + s.extra_metadata;
  y += "spec:\n  class: io.debezium.connector.mysql.MySqlConnector\n  tasksMax: 1\n  config:\n";
  y += "    database.hostname: " + s.hostname + "\n    database.port: 3306\n    database.user: debezium\n";
  if (s.server_id) y += "    database.server.id: " + std::to_string(*s.server_id) + "\n";
  y += "    topic.prefix: " + prefix + "\n";
  y += "    schema.history.internal.kafka.bootstrap.servers: kafka-kafka-bootstrap:9092\n";
  if (s.history_topic != "-")
    y += "    schema.history.internal.kafka.topic: " +
         (s.history_topic.empty() ? "schema-history." + prefix : s.history_topic) + "\n";
  return y;
}

}  // namespace cdcguard::e2e

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new cdcguard::e2e::Environment);
  return RUN_ALL_TESTS();
}
