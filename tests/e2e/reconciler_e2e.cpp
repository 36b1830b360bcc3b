// The reconciler (DESIGN.md "The reconciler") behind a real kube-apiserver:
// deletions become Decommissioned entries whose ids rest, claims refused
// later in the chain lapse, connectors made while the webhook was away are
// adopted, the Lease moves when a leader dies or stops, and two clusters that
// share the registry keep their hands off each other's entries.
//
// The world's replicas run with --claim-ttl=10 --resync-period=2s
// --lease-duration=8s --renew-deadline=5s --retry-period=1s (e2e_main.cpp).
// Nothing here asserts how fast anything happened: each wait is a hang guard,
// and the handover times are printed for the record.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <regex>

#include <nlohmann/json.hpp>

#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/model/time.hpp"
#include "e2e/e2e_helpers.hpp"

namespace cdcguard::e2e {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr const char* kLease = "cdc-guard-reconciler";

std::string lease_holder(const std::string& name = kLease) {
  const auto r =
      kubectl({"get", "lease", name, "-n", kReleaseNamespace, "-o=jsonpath={.spec.holderIdentity}"});
  return r.ok() ? r.out : "";
}

// The replica whose POD_NAME starts the holder identity, or -1.
int leader_replica() {
  const std::string holder = lease_holder();
  for (std::size_t i = 0; i < install().replicas(); ++i) {
    if (holder.starts_with(CdcGuardInstall::replica_identity(i) + "_")) return static_cast<int>(i);
  }
  return -1;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Replaces registry.yaml with `change` applied, as an admin would with
// kubectl, with the resourceVersion it read (a 409 is read again).
void edit_registry(const std::function<void(Registry&)>& change) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const auto got = kubectl({"get", "configmap", kRegistryConfigMap, "-n", kReleaseNamespace, "-o=json"});
    ASSERT_TRUE(got.ok()) << got.describe();
    auto cm = nlohmann::json::parse(got.out);
    Registry registry = parse_registry(cm["data"]["registry.yaml"].get<std::string>(), "registry ConfigMap");
    change(registry);
    nlohmann::json patch = {{"metadata", {{"resourceVersion", cm["metadata"]["resourceVersion"]}}},
                            {"data", {{"registry.yaml", render_checked_registry_yaml(registry)}}}};
    const auto put = kubectl({"patch", "configmap", kRegistryConfigMap, "-n", kReleaseNamespace,
                              "--type=merge", "-p", patch.dump()});
    if (put.ok()) return;
    if (put.err.find("the object has been modified") == std::string::npos) FAIL() << put.describe();
  }
  FAIL() << "the registry ConfigMap kept changing under the edit";
}

std::string today() {
  return format_date(date_of(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())));
}

TEST(Reconciler, ADeletedConnectorIsDecommissionedAndItsIdRestsUntilTheEmbargoEnds) {
  const auto ns = new_namespace("gone");
  const std::string key = ns + "/orders-cdc";
  ASSERT_TRUE(apply(connector_yaml({.ns = ns, .name = "orders-cdc", .server_id = 184300})).ok());
  const auto uid = stored(ns, "orders-cdc", "{.metadata.uid}");
  ASSERT_TRUE(uid && !uid->empty());
  // Confirmed: Active, with the object's uid, this cluster and the topics.
  ASSERT_TRUE(eventually([&] {
    const auto e = live_entry(registry_now(), key);
    return e && e->status == EntryStatus::Active && e->uid == *uid;
  })) << install().registry_yaml();
  const auto active = *live_entry(registry_now(), key);
  EXPECT_EQ(active.cluster, "default");
  EXPECT_EQ(active.topic_prefix, ns + ".orders-cdc");
  EXPECT_EQ(active.schema_history_topic, "schema-history." + ns + ".orders-cdc");

  const std::string day_before = today();
  const auto deleted = kubectl({"delete", "kafkaconnector.kafka.strimzi.io", "orders-cdc", "-n", ns});
  ASSERT_TRUE(deleted.ok()) << deleted.describe();
  ASSERT_TRUE(eventually([&] {
    const auto all = entries_of(registry_now(), key);
    return all.size() == 1 && all[0].status == EntryStatus::Decommissioned;
  })) << install().registry_yaml()
      << install().replica_logs();
  const auto gone = entries_of(registry_now(), key)[0];
  ASSERT_TRUE(gone.decommissioned_at.has_value());
  const std::string day = format_date(date_of(*gone.decommissioned_at));
  EXPECT_TRUE(day == day_before || day == today()) << day << " is the day the deletion was seen";
  EXPECT_EQ(gone.server_id, 184300u);
  const std::string md = kubectl({"get", "configmap", kRegistryConfigMap, "-n", kReleaseNamespace,
                                  "-o=jsonpath={.data.registry\\.md}"})
                             .out;
  EXPECT_THAT(md, HasSubstr("| " + key + " | 184300 |")) << "registry.md follows every write";

  // Another connector asks for the id: it rests for embargoDays (30).
  const std::string free_day = format_date(date_of(*gone.embargo_end(30)));
  const auto denied = apply(connector_yaml({.ns = ns, .name = "refunds-cdc", .server_id = 184300}));
  ASSERT_FALSE(denied.ok()) << denied.describe();
  EXPECT_THAT(denied.err, HasSubstr("server-id-embargoed"));
  EXPECT_THAT(denied.err, HasSubstr(key));
  EXPECT_THAT(denied.err, HasSubstr(free_day));

  // The embargo is over (the decommission moved 31 days back, as if time had
  // passed): the id is admitted again.
  edit_registry([&](Registry& r) {
    for (auto& e : r.entries)
      if (e.connector == key) e.decommissioned_at = *e.decommissioned_at - std::chrono::days(31);
  });
  const auto admitted = apply(connector_yaml({.ns = ns, .name = "refunds-cdc", .server_id = 184300}));
  ASSERT_TRUE(admitted.ok()) << with_logs(admitted);
  const auto holder = live_entry(registry_now(), ns + "/refunds-cdc");
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->server_id, 184300u);
}

// A second validating webhook that refuses what carries the label
// e2e-refuse=yes: another cdc-guard, standalone, whose registry's range holds
// no id the connectors use (server-id-out-of-range).
class Refuser {
 public:
  Refuser() {
    const auto dir = install().dir() / "refuser";
    fs::create_directories(dir);
    {
      std::ofstream out(dir / "registry.yaml");
      out << "rules:\n  range: {from: 1, to: 10}\n";
    }
    port_ = free_port();
    RunSpec spec;
    spec.argv = {CDCGUARD_BINARY,
                 "serve",
                 "--tls-cert=" + install().tls_cert().string(),
                 "--tls-key=" + install().tls_key().string(),
                 "--registry-file=" + (dir / "registry.yaml").string(),
                 "--address=127.0.0.1",
                 "--port=" + std::to_string(port_),
                 "--metrics-port=-1",
                 "--shutdown-delay=0"};
    process_ = Daemon(spec, dir / "refuser.log");
    const std::string yaml = R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: e2e-refuser}
webhooks:
- name: refuse.e2e.cdc-guard.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 5
  objectSelector: {matchLabels: {e2e-refuse: "yes"}}
  clientConfig:
    url: https://127.0.0.1:)" +
                             std::to_string(port_) +
                             R"(/validate
    caBundle: )" + install().ca_bundle() +
                             R"(
  rules:
  - {apiGroups: [kafka.strimzi.io], apiVersions: ["*"], operations: [CREATE], resources: [kafkaconnectors]}
)";
    const auto r = apply(yaml);
    if (!r.ok()) throw std::runtime_error(r.describe());
  }
  ~Refuser() {
    kubectl({"delete", "validatingwebhookconfiguration", "e2e-refuser", "--ignore-not-found"});
    process_.stop(std::chrono::seconds(10));
  }

 private:
  int port_ = 0;
  Daemon process_;
};

TEST(Reconciler, APendingClaimWhoseCreateAnotherWebhookRefusedLapsesAndIsRemoved) {
  const auto ns = new_namespace("refused");
  const std::string key = ns + "/orders-cdc";
  Refuser refuser;
  const std::string yaml = connector_yaml(
      {.ns = ns, .name = "orders-cdc", .server_id = 184310, .extra_metadata = "    e2e-refuse: \"yes\"\n"});
  // The refuser is called once the API server has read its configuration.
  ProcessResult refused;
  ASSERT_TRUE(eventually([&] {
    refused = apply(yaml);
    return !refused.ok() && refused.err.find("server-id-out-of-range") != std::string::npos;
  })) << refused.describe();
  EXPECT_THAT(refused.err, HasSubstr("refuse.e2e.cdc-guard.io"));
  EXPECT_EQ(stored_server_id(ns, "orders-cdc"), std::nullopt);
  // cdc-guard admitted it and claimed its id before the other webhook's
  // denial ended the create.
  const auto claim = live_entry(registry_now(), key);
  ASSERT_TRUE(claim.has_value()) << install().registry_yaml();
  EXPECT_EQ(claim->status, EntryStatus::Pending);
  EXPECT_EQ(claim->server_id, 184310u);
  // The connector never appears: the claim lapses (10 s) and is removed.
  EXPECT_TRUE(eventually([&] { return entries_of(registry_now(), key).empty(); }))
      << install().registry_yaml() << install().replica_logs();
}

TEST(Reconciler, ConnectorsMadeWhileTheWebhookWasAwayAreAdoptedUnlessTheirIdIsTaken) {
  const auto ns = new_namespace("adopt");
  const std::string made_on = today();
  {
    WebhooksAway away;
    for (const auto& [name, id] : std::vector<std::pair<std::string, long>>{{"first-cdc", 184320},
                                                                            {"second-cdc", 184321},
                                                                            {"twin-a-cdc", 184322},
                                                                            {"twin-b-cdc", 184322},
                                                                            {"reserved-cdc", 184999},
                                                                            {"resting-cdc", 184900}}) {
      const auto r = create(connector_yaml({.ns = ns, .name = name, .server_id = id}));
      ASSERT_TRUE(r.ok()) << r.describe();
    }
  }
  ASSERT_TRUE(eventually([&] {
    const auto r = registry_now();
    return live_entry(r, ns + "/first-cdc") && live_entry(r, ns + "/second-cdc");
  })) << install().registry_yaml()
      << install().replica_logs();
  const auto r = registry_now();
  const auto first = *live_entry(r, ns + "/first-cdc");
  EXPECT_EQ(first.status, EntryStatus::Active);
  EXPECT_EQ(first.server_id, 184320u);
  EXPECT_EQ(first.cluster, "default");
  EXPECT_EQ(first.uid, stored(ns, "first-cdc", "{.metadata.uid}"));
  ASSERT_TRUE(first.date.has_value());
  EXPECT_TRUE(format_date(*first.date) == today() || format_date(*first.date) == made_on)
      << "dated the day it was adopted";
  // A reserved id and an id in embargo (legacy/retired-cdc): not adopted.
  for (const char* name : {"reserved-cdc", "resting-cdc"})
    EXPECT_TRUE(entries_of(r, ns + "/" + name).empty()) << name << "\n" << install().registry_yaml();
  // Two connectors on one id: a pass that sees both adopts neither; one that
  // ran between the two creates adopted the first. Never both.
  const bool a_held = live_entry(r, ns + "/twin-a-cdc").has_value();
  const bool b_held = live_entry(r, ns + "/twin-b-cdc").has_value();
  EXPECT_FALSE(a_held && b_held) << install().registry_yaml();
  EXPECT_FALSE(b_held && !a_held) << "twin-b-cdc was created second\n" << install().registry_yaml();
  // ... and reported: the leader logs each one and counts them.
  ASSERT_TRUE(eventually([&] {
    const int leader = leader_replica();
    if (leader < 0) return false;
    const std::string log = install().replica_log(static_cast<std::size_t>(leader));
    return log.find(ns + "/twin-b-cdc") != std::string::npos &&
           log.find(ns + "/reserved-cdc") != std::string::npos &&
           log.find(ns + "/resting-cdc") != std::string::npos;
  })) << install().replica_logs();
  const int leader = leader_replica();
  ASSERT_GE(leader, 0);
  const std::string log = install().replica_log(static_cast<std::size_t>(leader));
  EXPECT_THAT(log, HasSubstr("connector not adopted into the registry"));
  std::smatch m;
  const std::string metrics = install().replica_metrics(static_cast<std::size_t>(leader));
  ASSERT_TRUE(std::regex_search(metrics, m, std::regex(R"(cdcguard_reconcile_not_adopted (\d+))")))
      << metrics;
  EXPECT_GE(std::stoi(m[1]), a_held ? 3 : 4);
  EXPECT_THAT(metrics, HasSubstr("cdcguard_leader 1"));
  // Clean up: the twins and the others would be reported by every later pass.
  for (const char* name : {"twin-a-cdc", "twin-b-cdc", "reserved-cdc", "resting-cdc"})
    kubectl({"delete", "kafkaconnector.kafka.strimzi.io", name, "-n", ns, "--wait=false"});
}

// Deletes `name` and waits for its entry to be Decommissioned: proof that a
// reconciler is at work.
void expect_reconciled_deletion(const std::string& ns, const std::string& name, long id) {
  const auto applied = apply(connector_yaml({.ns = ns, .name = name, .server_id = id}));
  ASSERT_TRUE(applied.ok()) << applied.describe();
  ASSERT_TRUE(eventually([&] {
    const auto e = live_entry(registry_now(), ns + "/" + name);
    return e && e->status == EntryStatus::Active && !e->uid.empty();
  })) << install().registry_yaml();
  ASSERT_TRUE(kubectl({"delete", "kafkaconnector.kafka.strimzi.io", name, "-n", ns}).ok());
  EXPECT_TRUE(eventually([&] {
    const auto all = entries_of(registry_now(), ns + "/" + name);
    return all.size() == 1 && all[0].status == EntryStatus::Decommissioned;
  })) << install().registry_yaml()
      << install().replica_logs();
}

TEST(Reconciler, TheLeaseMovesWhenTheLeaderIsKilledAndAtOnceWhenItIsStopped) {
  const auto ns = new_namespace("lease");
  ASSERT_TRUE(eventually([] { return leader_replica() >= 0; })) << lease_holder();

  // SIGKILL: nothing is released; another replica takes the Lease once it
  // has not been renewed for the lease duration (8 s).
  const int killed = leader_replica();
  const std::string killed_identity = lease_holder();
  auto t0 = Clock::now();
  install().kill_replica(static_cast<std::size_t>(killed));
  ASSERT_TRUE(eventually([&] {
    const int now = leader_replica();
    return now >= 0 && now != killed;
  })) << lease_holder();
  std::fprintf(stderr, "[e2e] after SIGKILL of replica %d, replica %d leads after %.1f s\n", killed,
               leader_replica(), seconds_since(t0));
  expect_reconciled_deletion(ns, "after-kill-cdc", 184340);
  install().start_replica(static_cast<std::size_t>(killed));
  install().wait_ready(static_cast<std::size_t>(killed));

  // SIGTERM: the leader releases the Lease first thing, so another takes
  // it without waiting out the lease duration.
  const int stopped = leader_replica();
  ASSERT_GE(stopped, 0);
  const std::string stopped_identity = lease_holder();
  t0 = Clock::now();
  install().stop_replica(static_cast<std::size_t>(stopped));
  ASSERT_TRUE(eventually([&] {
    const int now = leader_replica();
    return now >= 0 && now != stopped;
  })) << lease_holder();
  std::fprintf(stderr, "[e2e] after SIGTERM of replica %d, replica %d leads after %.1f s\n", stopped,
               leader_replica(), seconds_since(t0));
  EXPECT_THAT(install().replica_log(static_cast<std::size_t>(stopped)), HasSubstr("reconciler stopped"));
  EXPECT_NE(lease_holder(), stopped_identity);
  EXPECT_NE(lease_holder(), killed_identity);
  expect_reconciled_deletion(ns, "after-stop-cdc", 184341);
  install().start_replica(static_cast<std::size_t>(stopped));
  install().wait_ready(static_cast<std::size_t>(stopped));
}

TEST(Reconciler, TwoClustersSharingTheRegistryNeverDecommissionEachOthersEntries) {
  const auto ns_us = new_namespace("us");
  const std::string ghost = "far-away/ghost-cdc";
  const std::string local = ns_us + "/local-cdc";
  // Cluster "us" holds an entry whose connector this cluster does not have,
  // and one for a connector in ns_us that it documented before deployment.
  edit_registry([&](Registry& r) {
    RegistryEntry e;
    e.connector = ghost;
    e.server_id = 184350;
    e.status = EntryStatus::Active;
    e.cluster = "us";
    e.uid = "0b7d3c1e-0000-4000-8000-00000000us01";
    e.date = date_of(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    r.entries.push_back(e);
    e.connector = local;
    e.server_id = 184351;
    e.uid.clear();
    r.entries.push_back(e);
  });
  // The "us" cluster's reconciler: it sees only ns_us (standing in for its
  // own API server) and elects its leader on its own Lease.
  Daemon us = install().start_serve(
      free_port(), free_port(), "cdc-guard-us",
      {"--cluster-name=us", "--namespaces=" + ns_us, "--leader-election-name=cdc-guard-reconciler-us",
       "--resync-period=2s", "--lease-duration=8s", "--renew-deadline=5s", "--retry-period=1s"},
      "cluster-us");
  ASSERT_TRUE(eventually([&] {
    return lease_holder("cdc-guard-reconciler-us").starts_with("cdc-guard-us_");
  })) << us.log_tail();

  ASSERT_TRUE(apply(connector_yaml({.ns = ns_us, .name = "local-cdc", .server_id = 184351})).ok());
  const auto uid = stored(ns_us, "local-cdc", "{.metadata.uid}");
  // Its own reconciler takes ownership (the uid) of the entry; ours leaves it be.
  ASSERT_TRUE(eventually([&] {
    const auto e = live_entry(registry_now(), local);
    return e && e->uid == uid;
  })) << install().registry_yaml()
      << us.log_tail();
  EXPECT_EQ(live_entry(registry_now(), local)->cluster, "us");

  // Deleted in "us": decommissioned by the "us" reconciler.
  ASSERT_TRUE(kubectl({"delete", "kafkaconnector.kafka.strimzi.io", "local-cdc", "-n", ns_us}).ok());
  ASSERT_TRUE(eventually([&] {
    const auto all = entries_of(registry_now(), local);
    return all.size() == 1 && all[0].status == EntryStatus::Decommissioned;
  })) << install().registry_yaml()
      << us.log_tail();

  // Our reconciler sees every namespace and no far-away/ghost-cdc, and has
  // passed many times since (counted over the replicas: the Lease may move).
  const auto passes = [&] {
    long total = 0;
    for (std::size_t i = 0; i < install().replicas(); ++i) {
      std::smatch m;
      const std::string metrics = install().replica_metrics(i);
      if (std::regex_search(metrics, m, std::regex(R"(cdcguard_reconcile_passes_total (\d+))")))
        total += std::stol(m[1]);
    }
    return total;
  };
  const long before = passes();
  ASSERT_TRUE(eventually([&] { return passes() >= before + 3; })) << install().replica_logs();
  const auto still = live_entry(registry_now(), ghost);
  ASSERT_TRUE(still.has_value()) << install().registry_yaml();
  EXPECT_EQ(still->status, EntryStatus::Active);
  EXPECT_EQ(still->cluster, "us");
  us.stop(std::chrono::seconds(10));
  edit_registry([&](Registry& r) {
    std::erase_if(r.entries, [&](const RegistryEntry& e) { return e.connector == ghost; });
  });
}

}  // namespace
}  // namespace cdcguard::e2e
