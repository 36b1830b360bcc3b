// Day-2 tools behind a real kube-apiserver (server ids 184460-184479 are
// this file's: the registry is shared, and a deleted connector's id rests): `cdc-guard audit` as a read-only
// ServiceAccount, the leader's audit as Warning Events (one per connector and
// rule, not one per pass), and `registry import` building a ConfigMap from
// what runs, with a second --apply that changes nothing. The conflicting
// connectors are made while the webhook configurations are away, as in a
// cluster that ran connectors before cdc-guard came.
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "cdcguard/model/registry_parser.hpp"
#include "e2e/e2e_helpers.hpp"

namespace cdcguard::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ProcessResult cdcguard(std::vector<std::string> args) {
  RunSpec spec;
  spec.argv = {CDCGUARD_BINARY};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = {{"KUBECONFIG", ""}};
  return run_process(spec);
}

void create_all(const std::string& ns, const std::vector<ConnectorSpec>& specs) {
  WebhooksAway away;
  for (auto spec : specs) {
    spec.ns = ns;
    const auto r = create(connector_yaml(spec));
    ASSERT_TRUE(r.ok()) << r.describe();
  }
}

void delete_all(const std::string& ns) {
  kubectl({"delete", "kafkaconnectors.kafka.strimzi.io", "--all", "-n", ns, "--wait=false"});
}

// A ServiceAccount that may only get and list: what `audit` needs.
fs::path auditor_kubeconfig() {
  static const fs::path path = [] {
    cluster().must({"apply", "-f", "-"}, R"(apiVersion: v1
kind: ServiceAccount
metadata: {name: auditor, namespace: cdc-guard}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cdc-guard-auditor}
rules:
- apiGroups: [kafka.strimzi.io]
  resources: [kafkaconnectors, kafkaconnects]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cdc-guard-auditor}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cdc-guard-auditor}
subjects:
- {kind: ServiceAccount, name: auditor, namespace: cdc-guard}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cdc-guard-auditor, namespace: cdc-guard}
rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [cdc-guard-registry]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cdc-guard-auditor, namespace: cdc-guard}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cdc-guard-auditor}
subjects:
- {kind: ServiceAccount, name: auditor, namespace: cdc-guard}
)");
    const std::string token =
        cluster().must({"create", "token", "auditor", "-n", "cdc-guard", "--duration=1h"});
    return cluster().write_token_kubeconfig("auditor", token);
  }();
  return path;
}

TEST(Audit, ReportsConflictsAmongLiveConnectorsAsKubectlNamesThemWithGetAndListOnly) {
  const auto ns = new_namespace("audit");
  create_all(ns, {{.name = "dup-a", .server_id = 184460},
                  {.name = "dup-b", .server_id = 184460},
                  {.name = "hist-a", .server_id = 184461, .history_topic = "schema-history.audit-shared"},
                  {.name = "hist-b", .server_id = 184462, .history_topic = "schema-history.audit-shared"}});
  const std::string kubeconfig = auditor_kubeconfig().string();
  const auto text = cdcguard({"audit", "--kubeconfig", kubeconfig, "--registry-configmap",
                              "cdc-guard/cdc-guard-registry", "--namespaces", ns});
  EXPECT_EQ(text.exit_code, 1) << text.describe();
  EXPECT_THAT(text.out, HasSubstr("kafkaconnector/" + ns + "/dup-b: error: [server-id-duplicate]"));
  for (const char* name : {"hist-a", "hist-b"})
    EXPECT_THAT(text.out,
                HasSubstr("kafkaconnector/" + ns + "/" + name + ": error: [schema-history-topic-shared]"));
  EXPECT_THAT(text.out, HasSubstr("checked 4 connectors and 0 KafkaConnects in the cluster: "));
  EXPECT_THAT(text.out, HasSubstr("is held by " + ns + "/dup-")) << "the message names the other party";

  const auto json = cdcguard({"audit", "--kubeconfig", kubeconfig, "--registry-configmap",
                              "cdc-guard/cdc-guard-registry", "--namespaces", ns, "--output", "json"});
  EXPECT_EQ(json.exit_code, 1) << json.describe();
  const auto doc = nlohmann::json::parse(json.out);
  std::set<std::string> objects;
  for (const auto& v : doc["violations"]) {
    EXPECT_EQ(v["file"], "") << "a live object has no file";
    objects.insert("kafkaconnector/" + v["connector"].get<std::string>());
  }
  // dup-a is reported too unless a reconciler pass adopted it between the two
  // creates: then its entry holds the id, and dup-b alone is at fault.
  objects.erase("kafkaconnector/" + ns + "/dup-a");
  EXPECT_EQ(objects,
            (std::set<std::string>{"kafkaconnector/" + ns + "/dup-b", "kafkaconnector/" + ns + "/hist-a",
                                   "kafkaconnector/" + ns + "/hist-b"}));

  // SARIF and JUnit for CI (tests/consumers validates them against their schemas).
  const auto sarif = cdcguard({"audit", "--kubeconfig", kubeconfig, "--registry-configmap",
                               "cdc-guard/cdc-guard-registry", "--namespaces", ns, "--output", "sarif"});
  EXPECT_EQ(sarif.exit_code, 1) << sarif.describe();
  EXPECT_THAT(sarif.out, HasSubstr("\"fullyQualifiedName\": \"kafkaconnector/" + ns + "/dup-b\""));
  const auto junit = cdcguard({"audit", "--kubeconfig", kubeconfig, "--registry-configmap",
                               "cdc-guard/cdc-guard-registry", "--namespaces", ns, "--output", "junit"});
  EXPECT_EQ(junit.exit_code, 1) << junit.describe();
  EXPECT_THAT(junit.out, HasSubstr("name=\"cdc-guard audit\""));
  EXPECT_THAT(junit.out, HasSubstr("kafkaconnector/" + ns + "/hist-b"));

  // A namespace with nothing wrong: exit 0.
  const auto clean_ns = new_namespace("audit-clean");
  ASSERT_TRUE(apply(connector_yaml({.ns = clean_ns, .name = "fine-cdc", .server_id = 184463})).ok());
  const auto clean = cdcguard({"audit", "--kubeconfig", kubeconfig, "--registry-configmap",
                               "cdc-guard/cdc-guard-registry", "--namespaces", clean_ns});
  EXPECT_EQ(clean.exit_code, 0) << clean.describe();

  // A registry ConfigMap that is not there (and may not be read): exit 2, said so.
  const auto missing = cdcguard({"audit", "--kubeconfig", cluster().admin_kubeconfig().string(),
                                 "--registry-configmap", "cdc-guard/no-such-registry"});
  EXPECT_EQ(missing.exit_code, 2) << missing.describe();
  EXPECT_THAT(missing.err, HasSubstr("no-such-registry does not exist"));
  delete_all(ns);
  delete_all(clean_ns);
}

// The leader audits after every pass (--audit-period=1s in e2e_main.cpp):
// each offending connector gets one Warning Event per rule, however many
// passes see it.
TEST(Audit, TheLeaderWritesOneWarningEventPerConnectorAndRuleNotOnePerPass) {
  const auto ns = new_namespace("events");
  // A shared history topic: both are at fault whatever a reconciler pass
  // between the two creates adopts (with a shared id, the first one adopted
  // would hold it, and only the second would be).
  create_all(ns, {{.name = "twin-a", .server_id = 184465, .history_topic = "schema-history.events-shared"},
                  {.name = "twin-b", .server_id = 184466, .history_topic = "schema-history.events-shared"}});
  const auto shared_topic_events = [&] {
    const auto r = kubectl({"get", "events.events.k8s.io", "-n", ns, "-o=json"});
    std::vector<nlohmann::json> found;
    if (!r.ok()) return found;
    const auto list = nlohmann::json::parse(r.out);  // named: a range-for would not keep a temporary alive
    for (const auto& e : list["items"])
      if (e.value("reason", "") == "schema-history-topic-shared") found.push_back(e);
    return found;
  };
  ASSERT_TRUE(eventually([&] { return shared_topic_events().size() >= 2; }))
      << kubectl({"get", "events.events.k8s.io", "-n", ns, "-o=yaml"}).out << install().replica_logs();
  const auto audits = [] {
    long total = 0;
    for (std::size_t i = 0; i < install().replicas(); ++i) {
      std::smatch m;
      const std::string metrics = install().replica_metrics(i);
      if (std::regex_search(metrics, m, std::regex(R"(cdcguard_audit_runs_total (\d+))")))
        total += std::stol(m[1]);
    }
    return total;
  };
  const long seen = audits();
  ASSERT_TRUE(eventually([&] { return audits() >= seen + 3; })) << "three more audits\n"
                                                                << install().replica_logs();

  // One Event per connector from each leader: a leader that took over
  // meanwhile (a slow renewal on a busy machine) starts afresh, which is
  // right; one leader writing a second one would be the bug.
  const auto events = shared_topic_events();
  std::map<std::string, int> per_leader_and_connector;
  std::set<std::string> regarding;
  for (const auto& e : events) {
    ++per_leader_and_connector[e["reportingInstance"].get<std::string>() + " " +
                               e["regarding"]["name"].get<std::string>()];
    regarding.insert(e["regarding"]["name"].get<std::string>());
    EXPECT_EQ(e["type"], "Warning");
    EXPECT_EQ(e["reportingController"], "cdc-guard.io/reconciler");
    EXPECT_EQ(e["regarding"]["kind"], "KafkaConnector");
    EXPECT_EQ(e["regarding"]["uid"].get<std::string>(),
              stored(ns, e["regarding"]["name"].get<std::string>(), "{.metadata.uid}").value_or("?"));
    EXPECT_THAT(e["note"].get<std::string>(), HasSubstr("schema-history.events-shared"));
    EXPECT_FALSE(e.contains("series")) << "not repeated within the hour";
  }
  EXPECT_EQ(regarding, (std::set<std::string>{"twin-a", "twin-b"}));
  for (const auto& [who, count] : per_leader_and_connector)
    EXPECT_EQ(count, 1) << who << ": one per connector and rule, not one per pass";
  // kubectl's own view of the connector's events (core/v1) shows them too.
  const auto described = kubectl({"get", "events", "-n", ns, "--field-selector",
                                  "involvedObject.name=twin-a,reportingComponent=cdc-guard.io/reconciler"});
  EXPECT_THAT(described.out, HasSubstr("schema-history-topic-shared")) << described.describe();

  std::string metrics;
  for (std::size_t i = 0;
       i < install().replicas() && metrics.find("cdcguard_violations{") == std::string::npos; ++i)
    metrics = install().replica_metrics(i);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      metrics, m, std::regex(R"(cdcguard_violations\{rule="schema-history-topic-shared"\} (\d+))")))
      << metrics;
  EXPECT_GE(std::stol(m[1]), 2);
  delete_all(ns);
}

TEST(RegistryImport, BuildsARegistryConfigMapFromTheClusterAndASecondApplyChangesNothing) {
  const auto ns = new_namespace("import");
  create_all(ns, {{.name = "orders-cdc", .server_id = 184470},
                  {.name = "users-cdc", .server_id = 184471},
                  {.name = "twin-a", .server_id = 184472},
                  {.name = "twin-b", .server_id = 184472}});
  const std::string cm = "imported-" + ns;
  const std::vector<std::string> base{"registry",
                                      "import",
                                      "--kubeconfig",
                                      cluster().admin_kubeconfig().string(),
                                      "--registry-configmap",
                                      "cdc-guard/" + cm,
                                      "--namespaces",
                                      ns};
  const auto plan = cdcguard(base);
  EXPECT_EQ(plan.exit_code, 1) << "the twins are listed\n" << plan.describe();
  EXPECT_THAT(plan.out, HasSubstr("| " + ns + "/orders-cdc | 184470 |"));
  EXPECT_THAT(plan.out, HasSubstr("| " + ns + "/twin-a | 184472 | shared-in-cluster |"));
  EXPECT_THAT(plan.out, HasSubstr("+  - {connector: " + ns + "/orders-cdc, serverId: 184470"));
  EXPECT_FALSE(kubectl({"get", "configmap", cm, "-n", "cdc-guard"}).ok())
      << "without --apply nothing is written";

  auto with_apply = base;
  with_apply.push_back("--apply");
  const auto applied = cdcguard(with_apply);
  EXPECT_EQ(applied.exit_code, 1) << applied.describe();
  const auto read = [&] {
    return nlohmann::json::parse(cluster().must({"get", "configmap", cm, "-n", "cdc-guard", "-o=json"}));
  };
  const auto made = read();
  EXPECT_EQ(made["metadata"]["labels"]["app.kubernetes.io/managed-by"], "cdc-guard");
  const Registry r = parse_registry(made["data"]["registry.yaml"].get<std::string>(), cm);
  ASSERT_EQ(r.entries.size(), 2u) << made.dump(2);
  for (const auto& e : r.entries) {
    EXPECT_TRUE(e.connector == ns + "/orders-cdc" || e.connector == ns + "/users-cdc") << e.connector;
    EXPECT_EQ(e.status, EntryStatus::Active);
    EXPECT_EQ(e.cluster, "default");
    EXPECT_EQ(e.uid,
              stored(ns, e.connector.substr(e.connector.find('/') + 1), "{.metadata.uid}").value_or("?"));
  }

  const auto again = cdcguard(with_apply);
  EXPECT_EQ(again.exit_code, 1) << again.describe();
  EXPECT_THAT(again.out, HasSubstr("Nothing to import"));
  EXPECT_EQ(read()["metadata"]["resourceVersion"], made["metadata"]["resourceVersion"])
      << "the second --apply wrote nothing";
  kubectl({"delete", "configmap", cm, "-n", "cdc-guard"});
  delete_all(ns);
}

// Split mode (the chart's layout): the policy is read, the state alone is
// written, with the entries only; owners come from the policy's teams.
TEST(RegistryImport, IntoTheStateOfASplitRegistryWritesOnlyTheState) {
  const auto ns = new_namespace("import-split");
  create_all(ns, {{.name = "orders-cdc", .server_id = 184475}});
  const std::string policy = "policy-" + ns;
  const std::string state = "state-" + ns;
  write_file(world().dir / (policy + ".yaml"),
             "rules:\n  range: {from: 184000, to: 184999}\nteams:\n  - {name: team-split, namespaces: [" +
                 ns + "], range: {from: 184470, to: 184479}}\n");
  cluster().must({"create", "configmap", policy, "-n", "cdc-guard",
                  "--from-file=registry.yaml=" + (world().dir / (policy + ".yaml")).string()});
  const std::string policy_rv = cluster().must(
      {"get", "configmap", policy, "-n", "cdc-guard", "-o=jsonpath={.metadata.resourceVersion}"});
  const auto applied = cdcguard({"registry", "import", "--kubeconfig", cluster().admin_kubeconfig().string(),
                                 "--registry-configmap", "cdc-guard/" + state, "--policy-configmap",
                                 "cdc-guard/" + policy, "--namespaces", ns, "--apply"});
  EXPECT_EQ(applied.exit_code, 0) << applied.describe();
  const std::string written =
      cluster().must({"get", "configmap", state, "-n", "cdc-guard", "-o=jsonpath={.data.registry\\.yaml}"});
  EXPECT_THAT(written, Not(HasSubstr("teams:"))) << "the state holds entries only\n" << written;
  const Registry r = parse_registry(written, state);
  ASSERT_EQ(r.entries.size(), 1u) << written;
  EXPECT_EQ(r.entries[0].connector, ns + "/orders-cdc");
  EXPECT_EQ(r.entries[0].owner, "team-split") << "the team from the policy";
  EXPECT_EQ(cluster().must(
                {"get", "configmap", policy, "-n", "cdc-guard", "-o=jsonpath={.metadata.resourceVersion}"}),
            policy_rv)
      << "the policy is never written";
  kubectl({"delete", "configmap", state, policy, "-n", "cdc-guard"});
  delete_all(ns);
}

}  // namespace
}  // namespace cdcguard::e2e
