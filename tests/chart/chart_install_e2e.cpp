// The chart on a real control plane (etcd and kube-apiserver from tools/kube/,
// no kubelet): `helm install` has every object accepted; a cdc-guard serve
// started here with the Deployment's own args, as the chart's ServiceAccount
// (a token from `kubectl create token`), proves the chart's RBAC is enough (a
// missing verb leaves it unready, or its state ConfigMap or Lease never made);
// `helm upgrade` with a new team applies the policy at once and keeps every
// entry of the state; `helm uninstall` removes the webhook configurations and
// leaves the state.
#include <chrono>
#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cdcguard/admission/admission_review.hpp"
#include "chart/chart_support.hpp"
#include "e2e/cdcguard_install.hpp"
#include "e2e/control_plane.hpp"
#include "e2e/e2e_helpers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"
#include "support/tls_client.hpp"

namespace cdcguard::chart {
namespace {

using e2e::eventually;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kNs = "cdc-guard";
// A hang guard for each wait, never a verdict on speed.
constexpr std::chrono::seconds kGuard{120};

// connector key -> "serverId status" of the state ConfigMap's entries.
std::map<std::string, std::string> entries_of(const std::string& registry_yaml) {
  std::map<std::string, std::string> out;
  const YAML::Node doc = YAML::Load(registry_yaml);
  for (const auto& e : doc["entries"]) {
    out[e["connector"].as<std::string>()] =
        e["serverId"].as<std::string>() + " " + e["status"].as<std::string>();
  }
  return out;
}

std::string connector_yaml(const std::string& ns, const std::string& name, long id) {
  return "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnector\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns +
         "\n  labels:\n    strimzi.io/cluster: connect\nspec:\n  class: "
         "io.debezium.connector.mysql.MySqlConnector\n"
         "  tasksMax: 1\n  config:\n    database.hostname: mysql.shop.svc\n    database.server.id: \"" +
         std::to_string(id) + "\"\n    topic.prefix: " + ns + "." + name +
         "\n    schema.history.internal.kafka.topic: schema-history." + ns + "." + name + "\n";
}

std::string review_json(const std::string& ns, const std::string& name, long id) {
  nlohmann::json object = {
      {"apiVersion", "kafka.strimzi.io/v1"},
      {"kind", "KafkaConnector"},
      {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"strimzi.io/cluster", "connect"}}}}},
      {"spec",
       {{"class", "io.debezium.connector.mysql.MySqlConnector"},
        {"config",
         {{"database.hostname", "mysql.shop.svc"},
          {"database.server.id", std::to_string(id)},
          {"topic.prefix", ns + "." + name},
          {"schema.history.internal.kafka.topic", "schema-history." + ns + "." + name}}}}}};
  nlohmann::json review = {
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", "chart-e2e-" + name},
        {"kind", {{"group", "kafka.strimzi.io"}, {"version", "v1"}, {"kind", "KafkaConnector"}}},
        {"resource", {{"group", "kafka.strimzi.io"}, {"version", "v1"}, {"resource", "kafkaconnectors"}}},
        {"namespace", ns},
        {"name", name},
        {"operation", "CREATE"},
        {"dryRun", true},
        {"userInfo", {{"username", "chart-e2e"}}},
        {"object", object}}}};
  return review.dump();
}

class ChartInstall : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    temp_ = new testing_support::TempDir("cdcguard-chart-e2e");
    cluster_ = new e2e::ControlPlane(e2e::kube_tools_dir(), temp_->path() / "cluster");
    e2e::CdcGuardInstall::install_crds(*cluster_, "0.50.0");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    if (::testing::UnitTest::GetInstance()->Failed()) {
      std::cerr << "[chart-e2e] kept " << temp_->path().string() << "\n";
      return;  // leaked on purpose: the logs explain the failure
    }
    delete temp_;
  }

  static e2e::ControlPlane& cluster() { return *cluster_; }
  static fs::path dir() { return temp_->path(); }

  e2e::ProcessResult helm_here(std::vector<std::string> args) {
    args.push_back("--kubeconfig=" + cluster().admin_kubeconfig().string());
    return helm(args);
  }

  // The serve args of the Deployment as the API server stored it, with the
  // certificate files and ports of this machine and the ServiceAccount's kubeconfig.
  std::vector<std::string> local_serve_args(const fs::path& kubeconfig, int port, int metrics_port) {
    const auto deployment =
        nlohmann::json::parse(cluster().must({"get", "deployment", "cdc-guard", "-n", kNs, "-o", "json"}));
    std::vector<std::string> args = {CDCGUARD_BINARY};
    for (const auto& a : deployment["spec"]["template"]["spec"]["containers"][0]["args"]) {
      const auto arg = a.get<std::string>();
      if (arg.rfind("--tls-cert=", 0) == 0) {
        args.push_back("--tls-cert=" + (dir() / "tls.crt").string());
      } else if (arg.rfind("--tls-key=", 0) == 0) {
        args.push_back("--tls-key=" + (dir() / "tls.key").string());
      } else if (arg.rfind("--port=", 0) == 0) {
        args.push_back("--port=" + std::to_string(port));
      } else if (arg.rfind("--metrics-port=", 0) == 0) {
        args.push_back("--metrics-port=" + std::to_string(metrics_port));
      } else {
        args.push_back(arg);
      }
    }
    args.push_back("--kubeconfig=" + kubeconfig.string());
    args.push_back("--address=127.0.0.1");
    return args;
  }

  testing_support::HttpReply https(int port, const std::string& method, const std::string& path,
                                   const std::string& body = {}) {
    testing_support::TlsConnection::Options o;
    o.ca_pem = ca_.cert_pem();
    testing_support::TlsConnection c(port, o);
    return c.request(method, path, body);
  }

  static testing_support::TempDir* temp_;
  static e2e::ControlPlane* cluster_;
  testing_support::TestCa ca_{"cdc-guard chart e2e CA"};
};

testing_support::TempDir* ChartInstall::temp_ = nullptr;
e2e::ControlPlane* ChartInstall::cluster_ = nullptr;

TEST_F(ChartInstall, InstallServeUpgradeUninstall) {
  // The serving certificate in a Secret of our own (the chart's no-cert-manager path).
  const auto serving =
      ca_.issue_server("cdc-guard.cdc-guard.svc", "DNS:cdc-guard.cdc-guard.svc,IP:127.0.0.1");
  e2e::write_file(dir() / "tls.crt", serving.cert);
  e2e::write_file(dir() / "tls.key", serving.key);
  const std::vector<std::string> tls = {"--set", "tls.certManager.enabled=false",
                                        "--set", "tls.secretName=cdc-guard-tls",
                                        "--set", "tls.caBundle=" + admission::base64_encode(ca_.cert_pem())};
  cluster().must({"create", "namespace", kNs});
  cluster().must({"create", "secret", "tls", "cdc-guard-tls", "-n", kNs,
                  "--cert=" + (dir() / "tls.crt").string(), "--key=" + (dir() / "tls.key").string()});

  // helm install: every object accepted by the real API server.
  std::vector<std::string> install = {"install", "cdc-guard", chart_dir().string(), "-n", kNs};
  install.insert(install.end(), tls.begin(), tls.end());
  const auto installed = helm_here(install);
  ASSERT_TRUE(installed.ok()) << installed.describe();
  for (const auto& [kind, name] :
       std::vector<std::pair<std::string, std::string>>{{"serviceaccount", "cdc-guard"},
                                                        {"configmap", "cdc-guard-policy"},
                                                        {"role", "cdc-guard"},
                                                        {"rolebinding", "cdc-guard"},
                                                        {"clusterrole", "cdc-guard"},
                                                        {"clusterrolebinding", "cdc-guard"},
                                                        {"service", "cdc-guard"},
                                                        {"service", "cdc-guard-metrics"},
                                                        {"deployment", "cdc-guard"},
                                                        {"poddisruptionbudget", "cdc-guard"},
                                                        {"validatingwebhookconfiguration", "cdc-guard"},
                                                        {"mutatingwebhookconfiguration", "cdc-guard"}}) {
    EXPECT_TRUE(cluster().kubectl({"get", kind, name, "-n", kNs}).ok()) << kind << " " << name;
  }
  // The chart renders no state ConfigMap: cdc-guard makes it.
  EXPECT_FALSE(cluster().kubectl({"get", "configmap", "cdc-guard-registry", "-n", kNs}).ok());

  // The webhook configurations are live and fail closed: with no replica
  // behind the Service, a connector outside the excluded namespaces is refused...
  cluster().must({"create", "namespace", "blocked"});
  const auto refused = cluster().kubectl({"apply", "-f", "-"}, connector_yaml("blocked", "orders", 184001));
  EXPECT_FALSE(refused.ok());
  // (The mutating webhook is called first; how the call fails depends on the
  // network: no route, or a proxy's certificate.)
  EXPECT_THAT(refused.err, HasSubstr("failed calling webhook \"mutate.cdc-guard.io\""));
  // ...and a namespace carrying the opt-out label is not sent to it.
  cluster().must({"create", "namespace", "shop"});
  cluster().must({"label", "namespace", "shop", "cdc-guard.io/ignore=true"});

  // cdc-guard serve as the chart's ServiceAccount, with the Deployment's args.
  const auto token = cluster().must({"create", "token", "cdc-guard", "-n", kNs, "--duration=2h"});
  const auto kubeconfig =
      cluster().write_token_kubeconfig("chart-sa", token.substr(0, token.find_last_not_of("\n") + 1));
  const int port = e2e::free_port();
  const int metrics_port = e2e::free_port();
  e2e::RunSpec spec;
  spec.argv = local_serve_args(kubeconfig, port, metrics_port);
  spec.env["POD_NAME"] = "cdc-guard-local-0";
  auto serve = std::make_unique<e2e::Daemon>(spec, dir() / "serve.log");
  const bool ready = eventually(
      [&] {
        try {
          return https(port, "GET", "/readyz").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      kGuard);
  ASSERT_TRUE(ready) << serve->log_tail(8000);
  // It created the state ConfigMap and holds the Lease, with only the chart's RBAC.
  const auto state_of = [&] {
    return cluster().must(
        {"get", "configmap", "cdc-guard-registry", "-n", kNs, "-o=jsonpath={.data.registry\\.yaml}"});
  };
  ASSERT_TRUE(eventually(
      [&] {
        return cluster().kubectl({"get", "configmap", "cdc-guard-registry", "-n", kNs}).ok();
      },
      kGuard))
      << serve->log_tail(8000);
  ASSERT_TRUE(eventually(
      [&] {
        const auto holder = cluster().kubectl(
            {"get", "lease", "cdc-guard-reconciler", "-n", kNs, "-o=jsonpath={.spec.holderIdentity}"});
        return holder.ok() && holder.out.rfind("cdc-guard-local-0_", 0) == 0;
      },
      kGuard))
      << serve->log_tail(8000);

  // Connectors made without the webhook are adopted into the state by the reconciler.
  cluster().must({"apply", "-f", "-"}, connector_yaml("shop", "orders", 184001));
  cluster().must({"apply", "-f", "-"}, connector_yaml("shop", "stock", 184002));
  ASSERT_TRUE(eventually(
      [&] {
        const auto entries = entries_of(state_of());
        return entries.count("shop/orders") && entries.at("shop/orders") == "184001 Active" &&
               entries.count("shop/stock") && entries.at("shop/stock") == "184002 Active";
      },
      kGuard))
      << state_of() << serve->log_tail(8000);
  const auto before = entries_of(state_of());

  // Before the upgrade no team owns shop: id 184150 is fine there.
  const auto verdict = [&](long id) {
    const auto reply = https(port, "POST", "/validate", review_json("shop", "payments", id));
    EXPECT_EQ(reply.status, 200) << reply.body;
    return nlohmann::json::parse(reply.body)["response"];
  };
  EXPECT_TRUE(verdict(184150)["allowed"].get<bool>()) << verdict(184150).dump();

  // helm upgrade with a new team: the policy applies at once, no restart.
  std::vector<std::string> upgrade = {
      "upgrade",
      "cdc-guard",
      chart_dir().string(),
      "-n",
      kNs,
      "--set-json",
      R"(policy.teams=[{"name":"team-shop","namespaces":["shop"],"range":{"from":184000,"to":184099}}])"};
  upgrade.insert(upgrade.end(), tls.begin(), tls.end());
  const auto upgraded = helm_here(upgrade);
  ASSERT_TRUE(upgraded.ok()) << upgraded.describe();
  ASSERT_TRUE(eventually([&] { return !verdict(184150)["allowed"].get<bool>(); }, kGuard))
      << serve->log_tail(8000);
  const auto denied = verdict(184150);
  EXPECT_THAT(denied["status"]["message"].get<std::string>(), HasSubstr("team-shop")) << denied.dump();
  EXPECT_TRUE(verdict(184050)["allowed"].get<bool>()) << verdict(184050).dump();
  // Every entry of the state is still there, unchanged.
  EXPECT_EQ(entries_of(state_of()), before);
  EXPECT_THAT(serve->log_tail(200000), Not(HasSubstr("forbidden")));

  // helm uninstall: the webhook configurations go, the state stays.
  serve->stop(std::chrono::seconds(30));
  const auto uninstalled = helm_here({"uninstall", "cdc-guard", "-n", kNs});
  ASSERT_TRUE(uninstalled.ok()) << uninstalled.describe();
  EXPECT_FALSE(cluster().kubectl({"get", "validatingwebhookconfiguration", "cdc-guard"}).ok());
  EXPECT_FALSE(cluster().kubectl({"get", "mutatingwebhookconfiguration", "cdc-guard"}).ok());
  EXPECT_FALSE(cluster().kubectl({"get", "configmap", "cdc-guard-policy", "-n", kNs}).ok());
  EXPECT_EQ(entries_of(state_of()), before);
  // With the webhooks gone, the namespace that was refused takes connectors again.
  EXPECT_TRUE(cluster().kubectl({"apply", "-f", "-"}, connector_yaml("blocked", "orders", 184001)).ok());
}

}  // namespace
}  // namespace cdcguard::chart
