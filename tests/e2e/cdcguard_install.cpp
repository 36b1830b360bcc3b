#include "e2e/cdcguard_install.hpp"

#include <stdexcept>
#include <thread>

#include "cdcguard/admission/admission_review.hpp"
#include "support/tls_client.hpp"

namespace cdcguard::e2e {

namespace {

constexpr auto kReadyGuard = std::chrono::seconds(120);

fs::path strimzi_fixture(const std::string& strimzi, const std::string& which) {
  return fs::path(CDCGUARD_SOURCE_DIR) / "tests" / "fixtures" / "strimzi" / (strimzi + "-" + which);
}

// The RBAC the webhook needs and nothing more: the registry ConfigMap by
// name (get, list and watch with a metadata.name field selector, update),
// and connectors and Connect clusters read-only everywhere. Split mode: the
// policy ConfigMap by name read-only, the state by name as the registry, and
// create on ConfigMaps (which resourceNames cannot narrow) for the state.
std::string rbac_yaml(bool split) {
  const std::string registry_rules = split ? R"(rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [cdc-guard-policy]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [cdc-guard-registry]
  verbs: [get, list, watch, update]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create]
)"
                                           : R"(rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [cdc-guard-registry]
  verbs: [get, list, watch, update]
)";
  return R"(apiVersion: v1
kind: ServiceAccount
metadata: {name: cdc-guard, namespace: cdc-guard}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cdc-guard-registry, namespace: cdc-guard}
)" + registry_rules +
         R"(---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cdc-guard-registry, namespace: cdc-guard}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cdc-guard-registry}
subjects:
- {kind: ServiceAccount, name: cdc-guard, namespace: cdc-guard}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cdc-guard-leader-election, namespace: cdc-guard}
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [cdc-guard-reconciler, cdc-guard-reconciler-us]
  verbs: [get, update]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cdc-guard-leader-election, namespace: cdc-guard}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cdc-guard-leader-election}
subjects:
- {kind: ServiceAccount, name: cdc-guard, namespace: cdc-guard}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cdc-guard-connectors}
rules:
- apiGroups: [kafka.strimzi.io]
  resources: [kafkaconnectors, kafkaconnects]
  verbs: [get, list, watch]
# The audit's Warning Events on the connectors at fault (as the chart grants).
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cdc-guard-connectors}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cdc-guard-connectors}
subjects:
- {kind: ServiceAccount, name: cdc-guard, namespace: cdc-guard}
)";
}

std::string webhooks_yaml(int port, const std::string& ca_bundle) {
  const std::string base = "https://127.0.0.1:" + std::to_string(port);
  // DESIGN.md "Defaults that matter"; the release namespace and kube-system
  // are left out, as the chart will.
  const std::string common = R"(
  failurePolicy: Fail
  sideEffects: NoneOnDryRun
  matchPolicy: Equivalent
  timeoutSeconds: 5
  admissionReviewVersions: [v1]
  namespaceSelector:
    matchExpressions:
    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, cdc-guard]}
)";
  return R"(apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: cdc-guard}
webhooks:
- name: mutate.cdc-guard.io
  clientConfig: {url: ")" +
         base + R"(/mutate", caBundle: )" + ca_bundle + R"(}
  rules:
  - {apiGroups: [kafka.strimzi.io], apiVersions: [v1, v1beta2], operations: [CREATE, UPDATE], resources: [kafkaconnectors]}
  reinvocationPolicy: Never)" +
         common + R"(---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: cdc-guard}
webhooks:
- name: validate.cdc-guard.io
  clientConfig: {url: ")" +
         base + R"(/validate", caBundle: )" + ca_bundle + R"(}
  rules:
  - {apiGroups: [kafka.strimzi.io], apiVersions: [v1, v1beta2], operations: [CREATE, UPDATE], resources: [kafkaconnectors, kafkaconnects]})" +
         common;
}

}  // namespace

std::string default_registry() {
  return R"(rules:
  range: {from: 184000, to: 184999}
  embargoDays: 30
  requireRegistration: false
  allowPlaceholders: false
  autoAssign: true
  schemaHistoryTopicTemplate: "schema-history.{prefix}"
reserved:
  - {serverId: 184999, reason: "MySQL primary server_id"}
entries:
  - {connector: legacy/retired-cdc, serverId: 184900, database: retired, status: Decommissioned, owner: platform, date: 2025-01-01, decommissionedAt: 2099-01-01}
)";
}

void CdcGuardInstall::install_crds(ControlPlane& cluster, const std::string& strimzi) {
  for (const char* crd : {"041-Crd-kafkaconnect.yaml", "047-Crd-kafkaconnector.yaml"}) {
    const auto path = strimzi_fixture(strimzi, crd);
    if (!fs::exists(path)) throw std::runtime_error("missing Strimzi CRD fixture " + path.string());
    cluster.must({"apply", "--server-side", "-f", path.string()});
  }
  // Established, and served: a LIST of each answers. (`kubectl wait
  // --for=condition=Established` fails outright on a CRD whose status has no
  // conditions yet, as a just-created one has.)
  const auto deadline = std::chrono::steady_clock::now() + kReadyGuard;
  for (const char* resource : {"kafkaconnectors.kafka.strimzi.io", "kafkaconnects.kafka.strimzi.io"}) {
    for (;;) {
      const auto r = cluster.kubectl({"get", resource, "-A", "-o=name"});
      if (r.ok()) break;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error(std::string("the CRD for ") + resource + " was not served: " + r.describe());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

CdcGuardInstall::CdcGuardInstall(ControlPlane& cluster, InstallOptions options)
    : cluster_(cluster), options_(std::move(options)), dir_(cluster.dir() / "cdc-guard") {
  fs::create_directories(dir_);
  install_crds(cluster_, options_.strimzi);
  cluster_.must({"create", "namespace", kReleaseNamespace});
  write_file(dir_ / "registry.yaml",
             options_.registry_yaml.empty() ? default_registry() : options_.registry_yaml);
  cluster_.must({"create", "configmap", options_.split ? kPolicyConfigMap : kRegistryConfigMap, "-n",
                 kReleaseNamespace, "--from-file=registry.yaml=" + (dir_ / "registry.yaml").string()});
  install_rbac();

  write_file(dir_ / "ca.crt", ca_.cert_pem());
  const auto serving = ca_.issue("cdc-guard.cdc-guard.svc");
  write_file(dir_ / "tls.crt", serving.cert);
  write_file(dir_ / "tls.key", serving.key);

  std::vector<int> ports;
  for (int i = 0; i < options_.replicas; ++i) {
    Replica r;
    r.port = free_port();
    r.metrics_port = free_port();
    ports.push_back(r.port);
    replicas_.push_back(std::move(r));
  }
  for (std::size_t i = 0; i < replicas_.size(); ++i) start_replica(i);
  balancer_ = std::make_unique<TcpBalancer>(ports);
  wait_ready();
  register_webhooks();
}

CdcGuardInstall::~CdcGuardInstall() {
  for (auto& r : replicas_) r.process.stop(std::chrono::seconds(10));
}

void CdcGuardInstall::install_rbac() {
  cluster_.must({"apply", "-f", "-"}, rbac_yaml(options_.split));
  const std::string token =
      cluster_.must({"create", "token", "cdc-guard", "-n", kReleaseNamespace, "--duration=24h"});
  sa_kubeconfig_ = cluster_.write_token_kubeconfig("cdc-guard-serviceaccount", token);
}

void CdcGuardInstall::register_webhooks() {
  cluster_.must({"apply", "-f", "-"},
                webhooks_yaml(balancer_->port(), admission::base64_encode(ca_.cert_pem())));
}

void CdcGuardInstall::unregister_webhooks() {
  cluster_.must({"delete", "mutatingwebhookconfiguration/cdc-guard",
                 "validatingwebhookconfiguration/cdc-guard", "--ignore-not-found"});
}

void CdcGuardInstall::start_replica(std::size_t i) {
  auto& r = replicas_.at(i);
  r.process = start_serve(r.port, r.metrics_port, replica_identity(i), options_.extra_serve_args,
                          "replica-" + std::to_string(i));
}

std::string CdcGuardInstall::replica_identity(std::size_t i) {
  return "cdc-guard-" + std::to_string(i);
}

Daemon CdcGuardInstall::start_serve(int port, int metrics_port, const std::string& pod_name,
                                    const std::vector<std::string>& extra_args, const std::string& log_name) {
  RunSpec spec;
  spec.argv = {CDCGUARD_BINARY,
               "serve",
               "--tls-cert=" + (dir_ / "tls.crt").string(),
               "--tls-key=" + (dir_ / "tls.key").string(),
               std::string("--registry-configmap=") + kReleaseNamespace + "/" + kRegistryConfigMap,
               "--kubeconfig=" + sa_kubeconfig_.string(),
               "--address=127.0.0.1",
               "--port=" + std::to_string(port),
               "--metrics-port=" + std::to_string(metrics_port),
               "--shutdown-delay=0",
               "--shutdown-timeout=5",
               "--log-format=json"};
  if (options_.split)
    spec.argv.push_back(std::string("--policy-configmap=") + kReleaseNamespace + "/" + kPolicyConfigMap);
  spec.argv.insert(spec.argv.end(), extra_args.begin(), extra_args.end());
  // Never the user's or the admin's kubeconfig: only the ServiceAccount's.
  spec.env["KUBECONFIG"] = sa_kubeconfig_.string();
  // The Lease holder identity starts with it, as in a pod.
  spec.env["POD_NAME"] = pod_name;
  return Daemon(spec, dir_ / (log_name + ".log"));
}

std::string CdcGuardInstall::ca_bundle() const {
  return admission::base64_encode(ca_.cert_pem());
}

void CdcGuardInstall::kill_replica(std::size_t i) {
  replicas_.at(i).process.kill_now();
}

std::string CdcGuardInstall::replica_metrics(std::size_t i) const {
  try {
    return testing_support::plain_http_get(replicas_.at(i).metrics_port, "/metrics").body;
  } catch (const std::exception&) {
    return "";  // not listening (stopped, or not started yet)
  }
}

std::string CdcGuardInstall::replica_log(std::size_t i, std::size_t bytes) const {
  return replicas_.at(i).process.log_tail(bytes);
}

void CdcGuardInstall::stop_replica(std::size_t i) {
  replicas_.at(i).process.stop(std::chrono::seconds(10));
}

bool CdcGuardInstall::replica_ready(std::size_t i) const {
  try {
    testing_support::TlsConnection::Options o;
    o.ca_pem = ca_.cert_pem();
    o.timeout = std::chrono::milliseconds(5000);
    testing_support::TlsConnection c(replicas_[i].port, o);
    c.send("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    return c.read_reply().status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

void CdcGuardInstall::wait_ready() {
  for (std::size_t i = 0; i < replicas_.size(); ++i) wait_ready(i);
}

void CdcGuardInstall::wait_ready(std::size_t i) {
  const auto deadline = std::chrono::steady_clock::now() + kReadyGuard;
  auto& p = replicas_.at(i).process;
  while (!replica_ready(i)) {
    if (!p.running() || std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("cdc-guard replica " + std::to_string(i) + " did not become ready:\n" +
                               p.log_tail());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string CdcGuardInstall::registry_yaml() const {
  return cluster_.must({"get", "configmap", kRegistryConfigMap, "-n", kReleaseNamespace,
                        "-o=jsonpath={.data.registry\\.yaml}"});
}

std::string CdcGuardInstall::replica_logs(std::size_t bytes_each) const {
  std::string out;
  for (std::size_t i = 0; i < replicas_.size(); ++i)
    out += "\n--- replica " + std::to_string(i) + " ---\n" + replicas_[i].process.log_tail(bytes_each);
  return out;
}

}  // namespace cdcguard::e2e
