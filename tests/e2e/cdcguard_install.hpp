// cdc-guard installed on a ControlPlane the way a platform team runs it:
// the Strimzi CRDs, the registry ConfigMap, a ServiceAccount with only the
// RBAC the webhook needs (its kubeconfig from `kubectl create token`), N
// `cdc-guard serve --registry-configmap` replicas running as that account
// behind one loopback address (TcpBalancer, standing in for the Service), and
// the Validating/MutatingWebhookConfigurations pointing at it.
// With `split`, the registry is split as the Helm chart runs it (DESIGN.md
// "Policy and state"): the policy ConfigMap made from `registry_yaml`, no
// state ConfigMap (cdc-guard creates it), and the RBAC of split mode.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "e2e/control_plane.hpp"
#include "e2e/tcp_balancer.hpp"

namespace cdcguard::e2e {

struct InstallOptions {
  // "0.50.0" serves kafka.strimzi.io v1 and v1beta2; "1.x" serves v1 only.
  std::string strimzi = "0.50.0";
  int replicas = 3;
  std::string registry_yaml;  // empty: default_registry()
  std::vector<std::string> extra_serve_args;
  // Split mode: registry_yaml is the policy ConfigMap kPolicyConfigMap, the
  // replicas run with --policy-configmap, and kRegistryConfigMap (the state)
  // is left for cdc-guard to create.
  bool split = false;
};

inline constexpr const char* kReleaseNamespace = "cdc-guard";
inline constexpr const char* kRegistryConfigMap = "cdc-guard-registry";
inline constexpr const char* kPolicyConfigMap = "cdc-guard-policy";

// Rules and a few entries the scenarios build on (see the .cpp).
std::string default_registry();

class CdcGuardInstall {
 public:
  CdcGuardInstall(ControlPlane& cluster, InstallOptions options);
  ~CdcGuardInstall();
  CdcGuardInstall(const CdcGuardInstall&) = delete;
  CdcGuardInstall& operator=(const CdcGuardInstall&) = delete;

  // The CRDs alone (for a cluster that has connectors before the webhook).
  static void install_crds(ControlPlane& cluster, const std::string& strimzi);

  // Each replica's /readyz answers 200 (hang guard only).
  void wait_ready();
  void wait_ready(std::size_t i);
  void stop_replica(std::size_t i);  // SIGTERM (then SIGKILL after 10 s)
  void kill_replica(std::size_t i);  // SIGKILL
  void start_replica(std::size_t i);
  bool replica_running(std::size_t i) { return replicas_.at(i).process.running(); }
  // POD_NAME of replica i: its Lease holder identity starts with it.
  static std::string replica_identity(std::size_t i);
  // GET /metrics of replica i ("" when it does not answer).
  std::string replica_metrics(std::size_t i) const;
  std::string replica_log(std::size_t i, std::size_t bytes = 1 << 20) const;  // its last `bytes`
  // Another `cdc-guard serve` against the same registry ConfigMap, as the
  // same ServiceAccount (not behind the webhook configurations): another
  // cluster's reconciler, say.
  Daemon start_serve(int port, int metrics_port, const std::string& pod_name,
                     const std::vector<std::string>& extra_args, const std::string& log_name);
  std::size_t replicas() const { return replicas_.size(); }
  const TcpBalancer& balancer() const { return *balancer_; }
  // registry.yaml as the API server stores it now (split mode: the state's).
  std::string registry_yaml() const;
  // Logs of every replica, for failure messages.
  std::string replica_logs(std::size_t bytes_each = 3000) const;
  const fs::path& serviceaccount_kubeconfig() const { return sa_kubeconfig_; }
  // The serving certificate and key every replica uses (for 127.0.0.1), and
  // the CA that signed them, base64 for a webhook configuration's caBundle.
  fs::path tls_cert() const { return dir_ / "tls.crt"; }
  fs::path tls_key() const { return dir_ / "tls.key"; }
  std::string ca_bundle() const;
  const fs::path& dir() const { return dir_; }
  // Registers the webhook configurations (done by the constructor); remove
  // takes them away again, so the cluster runs without cdc-guard.
  void register_webhooks();
  void unregister_webhooks();

 private:
  struct Replica {
    int port = 0;
    int metrics_port = 0;
    Daemon process;
  };
  void install_rbac();
  bool replica_ready(std::size_t i) const;

  ControlPlane& cluster_;
  InstallOptions options_;
  testing_support::TestCa ca_{"cdc-guard e2e webhook CA"};
  fs::path dir_;
  fs::path sa_kubeconfig_;
  std::vector<Replica> replicas_;
  std::unique_ptr<TcpBalancer> balancer_;
};

}  // namespace cdcguard::e2e
