// The chart as `helm lint --strict` and `helm template` (the real helm, built
// from tools/helm/) see it, with default values and with each option: what
// every object says, and that the objects agree with each other and with the
// binary (its flags parse, the metrics the alerts read exist).
#include <algorithm>
#include <regex>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cdcguard/model/registry_parser.hpp"
#include "chart/chart_support.hpp"
#include "cli/serve_config.hpp"

namespace cdcguard::chart {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kCa = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==";
const std::vector<std::string> kOwnSecret = {"--set", "tls.certManager.enabled=false",
                                             "--set", "tls.secretName=my-webhook-tls",
                                             "--set", "tls.caBundle=" + kCa};

std::string str(const YAML::Node& n) {
  return n ? n.as<std::string>() : std::string();
}

std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence())
    for (const auto& v : n) out.push_back(v.as<std::string>());
  return out;
}

bool has_arg(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

std::string arg_value(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a.rfind(flag + "=", 0) == 0) return a.substr(flag.size() + 1);
  return "";
}

YAML::Node container(const YAML::Node& deployment) {
  return deployment["spec"]["template"]["spec"]["containers"][0];
}

std::string failure_of(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"template", "cdc-guard", chart_dir().string(), "-n", "cdc-guard"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = helm(argv);
  EXPECT_FALSE(r.ok()) << "helm template should have failed with " << ::testing::PrintToString(args);
  return r.out + r.err;
}

TEST(ChartLint, StrictWithEveryOptionSet) {
  const std::vector<std::vector<std::string>> sets = {
      {},
      kOwnSecret,
      {"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true"},
      {"--set", "networkPolicy.enabled=true"},
      {"--set", "replicaCount=1"},
  };
  for (const auto& set : sets) {
    std::vector<std::string> argv = {"lint", "--strict", chart_dir().string()};
    argv.insert(argv.end(), set.begin(), set.end());
    const auto r = helm(argv);
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_THAT(r.out, HasSubstr("1 chart(s) linted, 0 chart(s) failed"));
  }
}

TEST(ChartDefaults, RendersTheObjectsOfAnInstallAndNoStateConfigMap) {
  const auto objects = render({});
  for (const char* kind :
       {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment",
        "PodDisruptionBudget", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
    EXPECT_EQ(count_kind(objects, kind), 1u) << kind;
  }
  EXPECT_EQ(count_kind(objects, "Service"), 2u);
  EXPECT_EQ(count_kind(objects, "Certificate"), 2u);
  EXPECT_EQ(count_kind(objects, "Issuer"), 2u);
  for (const char* kind : {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "Secret"})
    EXPECT_EQ(count_kind(objects, kind), 0u) << kind;
  // One ConfigMap, the policy: the state is cdc-guard's, never the chart's.
  ASSERT_EQ(count_kind(objects, "ConfigMap"), 1u);
  EXPECT_EQ(str(find_one(objects, "ConfigMap")["metadata"]["name"]), "cdc-guard-policy");
  for (const auto& o : objects) {
    if (o["metadata"]["namespace"]) {
      EXPECT_EQ(str(o["metadata"]["namespace"]), "cdc-guard") << o["kind"];
    }
  }
}

TEST(ChartDefaults, PolicyConfigMapIsARegistryTheBinaryReads) {
  const auto objects =
      render({"--set-json",
              R"(policy.teams=[{"name":"team-a","namespaces":["shop"],"range":{"from":184000,"to":184099}}])",
              "--set-json", R"(policy.reserved=[{"serverId":184999,"reason":"MySQL primary"}])"});
  const auto text = str(find_one(objects, "ConfigMap", "cdc-guard-policy")["data"]["registry.yaml"]);
  const Registry registry = parse_registry(text, "policy registry.yaml");
  EXPECT_EQ(registry.rules.range, (IdRange{184000, 184999}));
  EXPECT_EQ(registry.rules.embargo_days, 30);
  EXPECT_TRUE(registry.rules.auto_assign);
  EXPECT_EQ(registry.rules.schema_history_topic_template, "schema-history.{prefix}");
  ASSERT_EQ(registry.teams.size(), 1u);
  EXPECT_EQ(registry.teams[0].name, "team-a");
  EXPECT_EQ(registry.teams[0].range, (IdRange{184000, 184099}));
  ASSERT_EQ(registry.reserved.size(), 1u);
  EXPECT_EQ(registry.reserved[0].server_id, 184999u);
  EXPECT_TRUE(registry.entries.empty());
  EXPECT_TRUE(registry_problems(registry).empty());
}

TEST(ChartDefaults, DeploymentIsHighlyAvailableAndRestricted) {
  const auto objects = render({});
  const auto d = find_one(objects, "Deployment", "cdc-guard");
  EXPECT_EQ(d["spec"]["replicas"].as<int>(), 3);
  const auto pod = d["spec"]["template"]["spec"];
  EXPECT_EQ(str(pod["serviceAccountName"]), "cdc-guard");
  EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>());
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 65532);
  EXPECT_EQ(pod["securityContext"]["runAsGroup"].as<int>(), 65532);
  EXPECT_EQ(str(pod["securityContext"]["seccompProfile"]["type"]), "RuntimeDefault");
  const auto c = container(d);
  EXPECT_EQ(str(c["image"]), "ghcr.io/cdc-guard/cdc-guard:0.1.0");
  const auto sc = c["securityContext"];
  EXPECT_TRUE(sc["readOnlyRootFilesystem"].as<bool>());
  EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>());
  EXPECT_FALSE(sc["privileged"].as<bool>());
  EXPECT_EQ(strings(sc["capabilities"]["drop"]), std::vector<std::string>{"ALL"});
  EXPECT_EQ(str(sc["seccompProfile"]["type"]), "RuntimeDefault");
  // Probes: the process (/healthz) and readiness to judge (/readyz), over HTTPS.
  EXPECT_EQ(str(c["startupProbe"]["httpGet"]["path"]), "/healthz");
  EXPECT_EQ(str(c["livenessProbe"]["httpGet"]["path"]), "/healthz");
  EXPECT_EQ(str(c["readinessProbe"]["httpGet"]["path"]), "/readyz");
  EXPECT_EQ(str(c["readinessProbe"]["httpGet"]["scheme"]), "HTTPS");
  EXPECT_EQ(str(c["readinessProbe"]["httpGet"]["port"]), "https");
  // POD_NAME from the downward API: the Lease holder's identity.
  bool pod_name = false;
  for (const auto& e : c["env"]) {
    if (str(e["name"]) == "POD_NAME")
      pod_name = str(e["valueFrom"]["fieldRef"]["fieldPath"]) == "metadata.name";
  }
  EXPECT_TRUE(pod_name);
  // The grace period outlasts the binary's own shutdown deadline.
  const auto args = container_args(d);
  EXPECT_GT(pod["terminationGracePeriodSeconds"].as<int>(), std::stoi(arg_value(args, "--shutdown-timeout")));
  // Spread over nodes and zones.
  std::set<std::string> keys;
  for (const auto& t : pod["topologySpreadConstraints"]) keys.insert(str(t["topologyKey"]));
  EXPECT_EQ(keys, (std::set<std::string>{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}));
  // A projected, expiring token instead of the automounted one; a writable /tmp.
  bool token = false, tmp = false;
  for (const auto& v : pod["volumes"]) {
    if (v["projected"])
      for (const auto& s : v["projected"]["sources"]) token = token || s["serviceAccountToken"].IsDefined();
    tmp = tmp || (str(v["name"]) == "tmp" && v["emptyDir"].IsDefined());
  }
  EXPECT_TRUE(token);
  EXPECT_TRUE(tmp);
  const auto pdb = find_one(objects, "PodDisruptionBudget");
  EXPECT_EQ(pdb["spec"]["minAvailable"].as<int>(), 1);
  EXPECT_EQ(pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(), "cdc-guard");
  EXPECT_EQ(
      str(pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"]),
      str(pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"]));
}

TEST(ChartDefaults, ServeArgsAreOnesTheBinaryAccepts) {
  const auto d = find_one(render({}), "Deployment");
  auto args = container_args(d);
  ASSERT_FALSE(args.empty());
  ASSERT_EQ(args.front(), "serve");
  args.erase(args.begin());
  cli::ServeConfig config;
  ASSERT_NO_THROW(config = cli::parse_serve_args(args)) << ::testing::PrintToString(args);
  EXPECT_TRUE(config.cluster_mode());
  EXPECT_EQ(config.configmap_namespace, "cdc-guard");
  EXPECT_EQ(config.configmap_name, "cdc-guard-registry");
  EXPECT_EQ(arg_value(args, "--policy-configmap"), "cdc-guard/cdc-guard-policy");
  EXPECT_TRUE(config.leader_election);
  EXPECT_EQ(config.lease_namespace, "cdc-guard");
  EXPECT_EQ(config.lease_name, "cdc-guard-reconciler");
  EXPECT_EQ(config.server.port, 8443);
  EXPECT_EQ(config.shutdown_delay, std::chrono::seconds(5));
  EXPECT_EQ(config.log_format, server::LogFormat::Json);
  // The certificate files are those of the mounted Secret.
  EXPECT_EQ(arg_value(args, "--tls-cert"), "/etc/cdc-guard/tls/tls.crt");
  bool mounted = false;
  for (const auto& m : container(d)["volumeMounts"])
    mounted = mounted || str(m["mountPath"]) == "/etc/cdc-guard/tls";
  EXPECT_TRUE(mounted);
}

void expect_webhook(const YAML::Node& config, const std::string& path, bool connects) {
  ASSERT_EQ(config["webhooks"].size(), 1u);
  const auto w = config["webhooks"][0];
  EXPECT_EQ(str(w["failurePolicy"]), "Fail");
  EXPECT_EQ(str(w["sideEffects"]), "NoneOnDryRun");
  EXPECT_EQ(str(w["matchPolicy"]), "Equivalent");
  EXPECT_EQ(w["timeoutSeconds"].as<int>(), 5);
  EXPECT_EQ(strings(w["admissionReviewVersions"]), std::vector<std::string>{"v1"});
  const auto svc = w["clientConfig"]["service"];
  EXPECT_EQ(str(svc["name"]), "cdc-guard");
  EXPECT_EQ(str(svc["namespace"]), "cdc-guard");
  EXPECT_EQ(str(svc["path"]), path);
  EXPECT_EQ(svc["port"].as<int>(), 443);
  std::set<std::string> resources;
  for (const auto& rule : w["rules"]) {
    EXPECT_EQ(strings(rule["apiGroups"]), std::vector<std::string>{"kafka.strimzi.io"});
    EXPECT_EQ(strings(rule["apiVersions"]), (std::vector<std::string>{"v1", "v1beta2"}));
    EXPECT_EQ(strings(rule["operations"]), (std::vector<std::string>{"CREATE", "UPDATE"}));
    for (const auto& r : strings(rule["resources"])) {
      EXPECT_EQ(r.find('/'), std::string::npos) << "never a subresource: " << r;
      resources.insert(r);
    }
  }
  EXPECT_EQ(resources, connects ? (std::set<std::string>{"kafkaconnectors", "kafkaconnects"})
                                : (std::set<std::string>{"kafkaconnectors"}));
  // kube-system, the release namespace and opted-out namespaces never reach it.
  bool excluded = false, opt_out = false;
  for (const auto& e : w["namespaceSelector"]["matchExpressions"]) {
    if (str(e["key"]) == "kubernetes.io/metadata.name" && str(e["operator"]) == "NotIn") {
      excluded = strings(e["values"]) == std::vector<std::string>{"kube-system", "cdc-guard"};
    }
    if (str(e["key"]) == "cdc-guard.io/ignore" && str(e["operator"]) == "NotIn")
      opt_out = strings(e["values"]) == std::vector<std::string>{"true"};
  }
  EXPECT_TRUE(excluded) << YAML::Dump(w["namespaceSelector"]);
  EXPECT_TRUE(opt_out) << YAML::Dump(w["namespaceSelector"]);
}

TEST(ChartDefaults, WebhookConfigurationsMatchConnectorsOnlyAndFailClosed) {
  const auto objects = render({});
  const auto validating = find_one(objects, "ValidatingWebhookConfiguration", "cdc-guard");
  const auto mutating = find_one(objects, "MutatingWebhookConfiguration", "cdc-guard");
  expect_webhook(validating, "/validate", true);
  expect_webhook(mutating, "/mutate", false);
  for (const auto& config : {validating, mutating}) {
    // cert-manager fills the caBundle from the serving Certificate's CA.
    EXPECT_EQ(str(config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]),
              "cdc-guard/cdc-guard-serving");
    EXPECT_FALSE(config["webhooks"][0]["clientConfig"]["caBundle"].IsDefined());
  }
  // The Service the webhooks call routes 443 to the container's https port.
  const auto service = find_one(objects, "Service", "cdc-guard");
  EXPECT_EQ(service["spec"]["ports"][0]["port"].as<int>(), 443);
  EXPECT_EQ(str(service["spec"]["ports"][0]["targetPort"]), "https");
  bool https = false;
  for (const auto& p : container(find_one(objects, "Deployment"))["ports"])
    https = https || (str(p["name"]) == "https" && p["containerPort"].as<int>() == 8443);
  EXPECT_TRUE(https);
}

TEST(ChartDefaults, CertManagerChainKeepsTheCaAcrossLeafRenewals) {
  const auto objects = render({});
  const auto leaf = find_one(objects, "Certificate", "cdc-guard-serving");
  const auto ca = find_one(objects, "Certificate", "cdc-guard-ca");
  const auto ca_issuer = find_one(objects, "Issuer", "cdc-guard-ca");
  const auto root = find_one(objects, "Issuer", "cdc-guard-selfsigned");
  EXPECT_TRUE(root["spec"]["selfSigned"].IsDefined());
  EXPECT_TRUE(ca["spec"]["isCA"].as<bool>());
  EXPECT_EQ(str(ca["spec"]["issuerRef"]["name"]), "cdc-guard-selfsigned");
  EXPECT_EQ(str(ca_issuer["spec"]["ca"]["secretName"]), str(ca["spec"]["secretName"]));
  EXPECT_EQ(str(leaf["spec"]["issuerRef"]["name"]), "cdc-guard-ca");
  EXPECT_THAT(strings(leaf["spec"]["dnsNames"]), Contains("cdc-guard.cdc-guard.svc"));
  // The Deployment serves the leaf's Secret.
  bool serves_leaf = false;
  for (const auto& v : find_one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"])
    serves_leaf = serves_leaf || str(v["secret"]["secretName"]) == str(leaf["spec"]["secretName"]);
  EXPECT_TRUE(serves_leaf);
}

TEST(ChartDefaults, RbacIsNarrowedByResourceNames) {
  const auto objects = render({});
  const auto d = find_one(objects, "Deployment");
  const auto args = container_args(d);
  const auto state = arg_value(args, "--registry-configmap").substr(std::string("cdc-guard/").size());
  const auto policy = arg_value(args, "--policy-configmap").substr(std::string("cdc-guard/").size());
  const auto lease = arg_value(args, "--leader-election-name");
  std::map<std::string, std::set<std::string>> by_name;  // "resource/name" -> verbs
  for (const auto& rule : find_one(objects, "Role")["rules"]) {
    for (const auto& resource : strings(rule["resources"])) {
      const auto names = strings(rule["resourceNames"]);
      for (const auto& verb : strings(rule["verbs"])) {
        EXPECT_NE(verb, "*");
        if (names.empty()) by_name[resource + "/"].insert(verb);
        for (const auto& n : names) by_name[resource + "/" + n].insert(verb);
      }
    }
  }
  EXPECT_EQ(by_name["configmaps/" + state], (std::set<std::string>{"get", "list", "watch", "update"}));
  EXPECT_EQ(by_name["configmaps/" + policy], (std::set<std::string>{"get", "list", "watch"}));
  EXPECT_EQ(by_name["configmaps/"], (std::set<std::string>{"create"}));
  EXPECT_EQ(by_name["leases/" + lease], (std::set<std::string>{"get", "update"}));
  EXPECT_EQ(by_name["leases/"], (std::set<std::string>{"create"}));
  EXPECT_EQ(by_name.size(), 5u);
  std::map<std::string, std::set<std::string>> cluster;
  for (const auto& rule : find_one(objects, "ClusterRole")["rules"]) {
    EXPECT_FALSE(rule["resourceNames"].IsDefined());
    for (const auto& resource : strings(rule["resources"]))
      for (const auto& verb : strings(rule["verbs"])) cluster[resource].insert(verb);
  }
  EXPECT_EQ(cluster["kafkaconnectors"], (std::set<std::string>{"get", "list", "watch"}));
  EXPECT_EQ(cluster["kafkaconnects"], (std::set<std::string>{"get", "list", "watch"}));
  EXPECT_EQ(cluster["events"], (std::set<std::string>{"create", "patch"}));
  EXPECT_EQ(cluster.size(), 3u);
  for (const char* kind : {"RoleBinding", "ClusterRoleBinding"}) {
    const auto subject = find_one(objects, kind)["subjects"][0];
    EXPECT_EQ(str(subject["name"]), str(d["spec"]["template"]["spec"]["serviceAccountName"]));
    EXPECT_EQ(str(subject["namespace"]), "cdc-guard");
  }
  EXPECT_FALSE(find_one(objects, "ServiceAccount")["automountServiceAccountToken"].as<bool>());
}

TEST(ChartOptions, OwnSecretPutsTheCaBundleInBothWebhooks) {
  const auto objects = render(kOwnSecret);
  EXPECT_EQ(count_kind(objects, "Certificate"), 0u);
  EXPECT_EQ(count_kind(objects, "Issuer"), 0u);
  for (const char* kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
    const auto config = find_one(objects, kind);
    EXPECT_EQ(str(config["webhooks"][0]["clientConfig"]["caBundle"]), kCa) << kind;
    EXPECT_FALSE(config["metadata"]["annotations"].IsDefined()) << kind;
  }
  bool secret = false;
  for (const auto& v : find_one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"])
    secret = secret || str(v["secret"]["secretName"]) == "my-webhook-tls";
  EXPECT_TRUE(secret);
}

TEST(ChartOptions, OwnSecretWithoutItsNameOrCaIsRefused) {
  EXPECT_THAT(failure_of({"--set", "tls.certManager.enabled=false", "--set", "tls.caBundle=" + kCa}),
              HasSubstr("tls.secretName is required"));
  EXPECT_THAT(failure_of({"--set", "tls.certManager.enabled=false", "--set", "tls.secretName=x"}),
              HasSubstr("tls.caBundle"));
}

TEST(ChartOptions, ExistingIssuerSignsTheLeafAlone) {
  const auto objects = render({"--set", "tls.certManager.issuerRef.name=corp-ca", "--set",
                               "tls.certManager.issuerRef.kind=ClusterIssuer"});
  EXPECT_EQ(count_kind(objects, "Issuer"), 0u);
  const auto leaf = find_one(objects, "Certificate");
  EXPECT_EQ(str(leaf["spec"]["issuerRef"]["name"]), "corp-ca");
  EXPECT_EQ(str(leaf["spec"]["issuerRef"]["kind"]), "ClusterIssuer");
}

std::set<std::string> exported_metrics() {
  std::set<std::string> names;
  const std::regex name("\"(cdcguard_[a-z_]+)");
  for (const char* file :
       {"src/server/metrics.cpp", "src/kube/cluster_runtime.cpp", "src/kube/leader_election.cpp"}) {
    const auto text = e2e::read_file(fs::path(CDCGUARD_SOURCE_DIR) / file);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it)
      names.insert((*it)[1]);
  }
  return names;
}

TEST(ChartOptions, MonitoringScrapesTheMetricsServiceAndAlertsOnExportedMetrics) {
  const auto objects = render(
      {"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true"});
  const auto monitor = find_one(objects, "ServiceMonitor");
  const auto metrics_service = find_one(objects, "Service", "cdc-guard-metrics");
  for (const auto& kv : monitor["spec"]["selector"]["matchLabels"]) {
    EXPECT_EQ(str(metrics_service["metadata"]["labels"][kv.first.as<std::string>()]),
              kv.second.as<std::string>())
        << kv.first;
  }
  EXPECT_EQ(str(monitor["spec"]["endpoints"][0]["port"]), str(metrics_service["spec"]["ports"][0]["name"]));
  // The webhook Service must not be selected too (it speaks HTTPS, not /metrics).
  EXPECT_NE(
      str(find_one(objects, "Service", "cdc-guard")["metadata"]["labels"]["app.kubernetes.io/component"]),
      "metrics");
  const auto exported = exported_metrics();
  ASSERT_GT(exported.size(), 20u);
  std::map<std::string, std::string> alerts;
  for (const auto& rule : find_one(objects, "PrometheusRule")["spec"]["groups"][0]["rules"])
    alerts[str(rule["alert"])] = str(rule["expr"]);
  for (const char* alert : {"CdcGuardWebhookErrors", "CdcGuardWebhookSlow", "CdcGuardCertificateExpiring",
                            "CdcGuardFreeIdsLow", "CdcGuardRegistryUnavailable"})
    EXPECT_TRUE(alerts.count(alert)) << alert;
  const std::regex used("cdcguard_[a-z_]+");
  for (const auto& [alert, expr] : alerts) {
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), used); it != std::sregex_iterator(); ++it) {
      std::string metric = it->str();
      for (const char* suffix : {"_bucket"})
        if (metric.ends_with(suffix)) metric.resize(metric.size() - std::string(suffix).size());
      EXPECT_TRUE(exported.count(metric))
          << alert << " reads " << metric << ", which the binary does not export";
    }
  }
  EXPECT_THAT(alerts["CdcGuardWebhookSlow"], HasSubstr("> 1"));
  EXPECT_THAT(alerts["CdcGuardCertificateExpiring"], HasSubstr("< 1209600"));  // 14 days
  EXPECT_THAT(alerts["CdcGuardFreeIdsLow"], HasSubstr("< 10"));
}

TEST(ChartOptions, NetworkPolicyOpensOnlyTheWebhookAndMetricsPorts) {
  const auto objects = render({"--set", "networkPolicy.enabled=true"});
  const auto policy = find_one(objects, "NetworkPolicy");
  EXPECT_EQ(strings(policy["spec"]["policyTypes"]), std::vector<std::string>{"Ingress"});
  std::set<std::string> ports;
  for (const auto& rule : policy["spec"]["ingress"])
    for (const auto& p : rule["ports"]) ports.insert(str(p["port"]));
  EXPECT_EQ(ports, (std::set<std::string>{"https", "metrics"}));
  EXPECT_EQ(str(policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]), "cdc-guard");
}

TEST(ChartOptions, OneReplicaHasNoDisruptionBudgetAndMayReconcileWithoutALease) {
  auto objects = render({"--set", "replicaCount=1"});
  EXPECT_EQ(count_kind(objects, "PodDisruptionBudget"), 0u);
  EXPECT_EQ(find_one(objects, "Deployment")["spec"]["replicas"].as<int>(), 1);
  objects = render({"--set", "replicaCount=1", "--set", "leaderElection.enabled=false"});
  const auto args = container_args(find_one(objects, "Deployment"));
  EXPECT_TRUE(has_arg(args, "--leader-election=false"));
  EXPECT_EQ(arg_value(args, "--leader-election-name"), "");
  for (const auto& rule : find_one(objects, "Role")["rules"])
    EXPECT_THAT(strings(rule["resources"]), Not(Contains("leases")));
  // Several replicas must elect a leader.
  EXPECT_THAT(failure_of({"--set", "leaderElection.enabled=false"}), HasSubstr("needs replicaCount 1"));
}

TEST(ChartOptions, ReleaseNamespaceIsExcludedAndNamedEverywhere) {
  const auto objects = render({}, "guard", "platform");
  const auto d = find_one(objects, "Deployment", "guard-cdc-guard");
  const auto args = container_args(d);
  EXPECT_EQ(arg_value(args, "--registry-configmap"), "platform/guard-cdc-guard-registry");
  EXPECT_EQ(arg_value(args, "--policy-configmap"), "platform/guard-cdc-guard-policy");
  EXPECT_EQ(arg_value(args, "--leader-election-namespace"), "platform");
  const auto w = find_one(objects, "ValidatingWebhookConfiguration")["webhooks"][0];
  EXPECT_EQ(str(w["clientConfig"]["service"]["namespace"]), "platform");
  EXPECT_THAT(strings(w["namespaceSelector"]["matchExpressions"][0]["values"]), Contains("platform"));
}

TEST(ChartOptions, FailurePolicyIgnoreAndNoMutatingWebhook) {
  const auto objects = render({"--set", "webhook.failurePolicy=Ignore", "--set", "webhook.mutating=false"});
  EXPECT_EQ(str(find_one(objects, "ValidatingWebhookConfiguration")["webhooks"][0]["failurePolicy"]),
            "Ignore");
  EXPECT_EQ(count_kind(objects, "MutatingWebhookConfiguration"), 0u);
}

TEST(ChartSchema, RefusesValuesThatCannotWork) {
  EXPECT_THAT(failure_of({"--set", "webhook.failurePolicy=Sometimes"}), HasSubstr("failurePolicy"));
  EXPECT_THAT(failure_of({"--set", "replicaCount=0"}), HasSubstr("replicaCount"));
  EXPECT_THAT(failure_of({"--set", "replicas=3"}), HasSubstr("replicas"));  // a typo is not ignored
  EXPECT_THAT(failure_of({"--set", "registry.onApiError=allow"}), HasSubstr("onApiError"));
  EXPECT_THAT(failure_of({"--set", "leaderElection.leaseDuration=soon"}), HasSubstr("leaseDuration"));
  EXPECT_THAT(failure_of({"--set", "image.digest=latest"}), HasSubstr("digest"));
  EXPECT_THAT(failure_of({"--set", "terminationGracePeriodSeconds=20"}), HasSubstr("shutdownTimeout"));
}

}  // namespace
}  // namespace cdcguard::chart

namespace cdcguard::chart {
namespace {

void leaf_keys(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& kv : node) {
    const std::string key = prefix + kv.first.as<std::string>();
    const bool whole = kv.first.as<std::string>() == "range" || key == "resources";
    if (kv.second.IsMap() && kv.second.size() > 0 && !whole) {
      leaf_keys(kv.second, key + ".", out);
    } else {
      out.push_back(key);
    }
  }
}

TEST(ChartReadme, DocumentsEveryValue) {
  const auto readme = e2e::read_file(chart_dir() / "README.md");
  std::vector<std::string> keys;
  leaf_keys(YAML::LoadFile((chart_dir() / "values.yaml").string()), "", keys);
  ASSERT_GT(keys.size(), 50u);
  for (const auto& key : keys) EXPECT_THAT(readme, HasSubstr("| `" + key + "` |")) << key;
}

}  // namespace
}  // namespace cdcguard::chart
