// Leader election against the real kube-apiserver: two electors, each with a
// ServiceAccount that may only get, create and update Leases (the RBAC the
// elector's header asks for), the steady clock and short timings (lease 3 s,
// renew deadline 2 s, retry 0.5 s). What is asserted are states (who leads,
// what the stored Lease says), each waited for with a generous hang guard,
// never how long anything took.
#include <atomic>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/kube_config.hpp"
#include "cdcguard/kube/leader_election.hpp"
#include "e2e/e2e_helpers.hpp"

namespace cdcguard::e2e {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kLeaseName = "cdc-guard-reconciler";
constexpr auto kHangGuard = 60s;

// A Role with exactly get, create and update on Leases, bound to two
// ServiceAccounts, one per replica.
std::string rbac_yaml(const std::string& ns) {
  std::string y =
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
      "metadata: {name: leader-election, namespace: " +
      ns +
      "}\n"
      "rules:\n- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, create, update]}\n";
  for (const char* name : {"replica-a", "replica-b"}) {
    const std::string who = name;
    y += "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: " + who + ", namespace: " + ns + "}\n";
    y += "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: " + who +
         ", namespace: " + ns +
         "}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: leader-election}\n"
         "subjects:\n- {kind: ServiceAccount, name: " +
         who + ", namespace: " + ns + "}\n";
  }
  return y;
}

// One replica: its ServiceAccount's client and its elector.
struct Replica {
  std::unique_ptr<kube::KubeClient> client;
  std::unique_ptr<kube::LeaderElector> elector;
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
};

class LeaseE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = new_namespace("lease");
    cluster().must({"apply", "-f", "-"}, rbac_yaml(ns_));
    make_replica(a_, "replica-a");
    make_replica(b_, "replica-b");
  }
  void TearDown() override {
    if (a_.elector) a_.elector->stop();
    if (b_.elector) b_.elector->stop();
  }

  void make_replica(Replica& r, const std::string& name) {
    const std::string token = cluster().must({"create", "token", name, "-n", ns_, "--duration=1h"});
    const auto kubeconfig = cluster().write_token_kubeconfig(ns_ + "-" + name, token);
    kube::ClientOptions client_options;
    client_options.connect_timeout = 30000ms;  // hang guards for a loaded machine
    client_options.request_timeout = 30000ms;
    r.client = std::make_unique<kube::KubeClient>(kube::load_kubeconfig(kubeconfig.string()), client_options);

    kube::IdentitySources sources;
    sources.env = [name](const char*) -> std::optional<std::string> { return name; };
    kube::LeaderElectionOptions o;
    o.namespace_name = ns_;
    o.name = kLeaseName;
    o.identity = kube::leader_identity(sources);
    o.lease_duration = 3s;
    o.renew_deadline = 2s;
    o.retry_period = 500ms;
    o.on_started_leading = [&r] { ++r.started; };
    o.on_stopped_leading = [&r] { ++r.stopped; };
    o.log = [](const std::string& line) { std::cerr << "[lease] " << line << "\n"; };
    r.elector = std::make_unique<kube::LeaderElector>(*r.client, o);
  }

  // The Lease as `kubectl get lease -o json` shows it.
  json lease() const {
    const auto r = kubectl({"get", "lease", kLeaseName, "-n", ns_, "-o", "json"});
    if (!r.ok()) return json();
    return json::parse(r.out, nullptr, false);
  }
  std::string holder() const {
    const json l = lease();
    return l.is_object() ? l["spec"].value("holderIdentity", std::string("<none>")) : "<no lease>";
  }

  // Polls `condition`, and at every poll asserts that the two never lead at once.
  bool eventually_alone(const std::function<bool()>& condition) {
    return eventually(
        [&] {
          EXPECT_FALSE(a_.elector->is_leader() && b_.elector->is_leader()) << "two leaders at one poll";
          return condition();
        },
        kHangGuard);
  }

  std::string ns_;
  Replica a_;
  Replica b_;
};

TEST_F(LeaseE2e, OneLeadsTheOtherWaitsAndAReleaseHandsTheLeaseOver) {
  auto& a = *a_.elector;
  auto& b = *b_.elector;
  a.start();
  ASSERT_TRUE(eventually_alone([&] { return a.is_leader(); })) << a.stats().last_error;
  b.start();
  ASSERT_TRUE(eventually_alone([&] { return b.leader() == a.identity(); })) << b.stats().last_error;

  // a keeps renewing (the stored renewTime moves) and b keeps waiting.
  const json first = lease();
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["spec"]["holderIdentity"], a.identity());
  EXPECT_EQ(first["spec"]["leaseDurationSeconds"], 3);
  EXPECT_EQ(first["spec"]["leaseTransitions"], 0);
  EXPECT_THAT(first["spec"].value("renewTime", ""),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z"));
  ASSERT_TRUE(eventually_alone([&] {
    const json now = lease();
    return now.is_object() && now["spec"]["renewTime"] != first["spec"]["renewTime"] &&
           now["spec"]["holderIdentity"] == a.identity();
  }));
  EXPECT_TRUE(a.is_leader());
  EXPECT_FALSE(b.is_leader());
  EXPECT_EQ(b_.started, 0);

  // SIGTERM on a: released, and b takes it at its next try.
  EXPECT_TRUE(a.release());
  EXPECT_FALSE(a.is_leader());
  EXPECT_EQ(a_.stopped, 1);
  ASSERT_TRUE(eventually_alone([&] { return b.is_leader(); })) << b.stats().last_error;
  ASSERT_TRUE(eventually_alone([&] { return holder() == b.identity(); }));
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
  EXPECT_EQ(b_.started, 1);
  EXPECT_EQ(a_.started, 1);

  b.stop();
  EXPECT_EQ(holder(), "") << "stopping the leader releases the Lease";
}

// a loses its permission to update the Lease (its RoleBinding is deleted):
// its renewals are refused, it stops leading by its renew deadline, and b,
// seeing no renewal for the lease duration, takes over.
TEST_F(LeaseE2e, ALeaderThatCanNoLongerRenewStopsAndTheOtherTakesOver) {
  auto& a = *a_.elector;
  auto& b = *b_.elector;
  a.start();
  ASSERT_TRUE(eventually_alone([&] { return a.is_leader(); })) << a.stats().last_error;
  b.start();
  ASSERT_TRUE(eventually_alone([&] { return b.leader() == a.identity(); })) << b.stats().last_error;

  cluster().must({"delete", "rolebinding", "replica-a", "-n", ns_});
  ASSERT_TRUE(eventually_alone([&] { return a_.stopped == 1; })) << a.stats().last_error;
  EXPECT_FALSE(a.is_leader());
  EXPECT_NE(a.stats().last_error.find("403"), std::string::npos) << a.stats().last_error;
  EXPECT_GE(a.stats().renew_failures, 1u);
  ASSERT_TRUE(eventually_alone([&] { return b.is_leader(); })) << b.stats().last_error;
  EXPECT_EQ(holder(), b.identity());
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
  EXPECT_FALSE(a.is_leader());
  EXPECT_EQ(b.leader(), b.identity());
}

}  // namespace
}  // namespace cdcguard::e2e
