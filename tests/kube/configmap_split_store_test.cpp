// Split mode (DESIGN.md "Policy and state, like spec and status") against the
// fake API server: the registry is the union of a policy ConfigMap (only
// read) and a state ConfigMap (cdc-guard's, created when absent); writes go
// to the state only, a policy change is seen at once, and a union that
// cannot be formed is never used nor written over.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cdcguard/kube/cluster_runtime.hpp"
#include "cdcguard/kube/configmap_registry_store.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "kube/fake_clock.hpp"
#include "kube/kube_fixture.hpp"
#include "kube/scripted_transport.hpp"

namespace cdcguard::testing_support {
namespace {

using std::chrono::milliseconds;

constexpr const char* kPolicyName = "policy";

// The fixture registry (teams a and b, 184999 reserved, three entries) and a
// Reserved entry documented before deployment.
std::string policy_yaml() {
  return read_fixture_file("admission/registry.yaml") +
         "  - {connector: ecommerce/payments-cdc, serverId: 184005, database: payments, status: Reserved, "
         "owner: team-a, date: 2026-11-01}\n";
}

nlohmann::json configmap(const std::string& name, const std::string& registry_yaml) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", kRegistryNamespace}}},
          {"data", {{"registry.yaml", registry_yaml}}}};
}

const RegistryEntry* find(const Registry& r, const std::string& connector) {
  const auto it = std::find_if(r.entries.begin(), r.entries.end(),
                               [&](const RegistryEntry& e) { return e.connector == connector; });
  return it == r.entries.end() ? nullptr : &*it;
}

class SplitStore : public FakeClusterFixture {
 protected:
  // The policy ConfigMap; no state ConfigMap (the fixture's registry is removed).
  void SetUp() override {
    FakeClusterFixture::SetUp();
    api_->remove("ConfigMap", kRegistryNamespace, kRegistryName);
    api_->apply(configmap(kPolicyName, policy_yaml()));
  }
  void TearDown() override {
    if (client_) client_->stop_streams();
    if (store_) store_->stop();
    FakeClusterFixture::TearDown();
  }
  kube::ConfigMapRegistryStore::Options options() {
    kube::ConfigMapRegistryStore::Options o;
    o.informer.backoff_base = milliseconds(20);
    o.informer.backoff_max = milliseconds(200);
    o.deadline = milliseconds(30000);  // a hang guard
    o.policy = kube::ConfigMapName{kRegistryNamespace, kPolicyName};
    o.on_warning = [this](const std::string& message) {
      std::lock_guard guard(mutex_);
      warnings_.push_back(message);
    };
    return o;
  }
  kube::ConfigMapRegistryStore& start_store() {
    client_ = client();
    store_ = std::make_unique<kube::ConfigMapRegistryStore>(*client_, kRegistryNamespace, kRegistryName,
                                                            options());
    store_->start();
    EXPECT_TRUE(eventually([&] { return store_->synced(); }));
    return *store_;
  }
  void set_state(const std::string& registry_yaml) { api_->apply(configmap(kRegistryName, registry_yaml)); }
  void set_policy(const std::string& registry_yaml) { api_->apply(configmap(kPolicyName, registry_yaml)); }
  std::optional<nlohmann::json> state() const {
    return api_->get("ConfigMap", kRegistryNamespace, kRegistryName);
  }
  nlohmann::json policy() const { return *api_->get("ConfigMap", kRegistryNamespace, kPolicyName); }
  Registry state_registry() const { return parse_registry(registry_text(), "state registry.yaml"); }
  std::vector<std::string> warnings() {
    std::lock_guard guard(mutex_);
    return warnings_;
  }
  // A snapshot that satisfies `done`, once the watches have caught up.
  bool eventually_snapshot(const std::function<bool(const Registry&)>& done) {
    return eventually([&] {
      try {
        return done(store_->snapshot()->registry);
      } catch (const StoreError&) {
        return false;
      }
    });
  }
  static bool claim(Registry& r, const std::string& connector, std::uint32_t id) {
    r.entries.push_back(pending_claim(connector, id));
    return true;
  }
  // The store refuses to read (naming `problem`) and to write; neither
  // ConfigMap is written; readiness names the problem.
  void expect_unusable_and_never_written(const std::string& problem) {
    auto& store = start_store();
    const auto policy_before = api_->get("ConfigMap", kRegistryNamespace, kPolicyName);
    const auto state_before = state();
    const int puts = api_->counters().configmap_puts;
    try {
      store.snapshot();
      FAIL() << "a registry was formed";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
    }
    EXPECT_THROW(store.update([](Registry& r) { return claim(r, "ecommerce/x", 184002); }), StoreError);
    EXPECT_NE(store.union_problem().find(problem), std::string::npos) << store.union_problem();
    EXPECT_EQ(api_->counters().configmap_puts, puts);
    EXPECT_EQ(api_->get("ConfigMap", kRegistryNamespace, kPolicyName), policy_before);
    EXPECT_EQ(state(), state_before);
  }

  std::unique_ptr<kube::KubeClient> client_;
  std::unique_ptr<kube::ConfigMapRegistryStore> store_;
  std::mutex mutex_;
  std::vector<std::string> warnings_;
};

TEST_F(SplitStore, TheRegistryIsThePolicyWithTheStateEntriesOverridingPerConnector) {
  set_state(
      "entries:\n"
      "  - {connector: ecommerce/payments-cdc, serverId: 184005, database: payments, status: Active, owner: "
      "team-a, date: 2026-11-20, cluster: eu}\n"
      "  - {connector: ecommerce/billing-cdc, serverId: 184002, status: Active, date: 2026-11-21}\n");
  auto& store = start_store();
  const Registry r = store.snapshot()->registry;
  EXPECT_EQ(r.teams.size(), 2u);
  ASSERT_EQ(r.reserved.size(), 1u);
  EXPECT_EQ(r.reserved.front().server_id, 184999u);
  EXPECT_TRUE(r.rules.auto_assign);
  EXPECT_EQ(r.entries.size(), 5u);  // three of the policy's, its payments-cdc replaced, billing-cdc
  ASSERT_NE(find(r, "ecommerce/payments-cdc"), nullptr);
  EXPECT_EQ(find(r, "ecommerce/payments-cdc")->status, EntryStatus::Active);
  EXPECT_EQ(find(r, "ecommerce/payments-cdc")->cluster, "eu");
  EXPECT_EQ(std::count_if(r.entries.begin(), r.entries.end(),
                          [](const RegistryEntry& e) { return e.connector == "ecommerce/payments-cdc"; }),
            1);
  EXPECT_NE(find(r, "ecommerce/billing-cdc"), nullptr);
  EXPECT_NE(find(r, "warehouse/stock-cdc"), nullptr);
  EXPECT_EQ(store.union_problem(), "");
  const int requests = api_->counters().requests;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(store.snapshot()->registry.entries.size(), 5u);
  EXPECT_EQ(api_->counters().requests, requests) << "a synced store reads both from its caches";
  EXPECT_TRUE(warnings().empty());
}

TEST_F(SplitStore, AMissingStateIsCreatedEmptyAndLabelled) {
  auto& store = start_store();
  ASSERT_TRUE(eventually([&] { return state().has_value(); })) << "the state was not created";
  const auto created = *state();
  EXPECT_EQ(created["metadata"]["labels"]["app.kubernetes.io/managed-by"], "cdc-guard");
  EXPECT_EQ(created["data"]["registry.yaml"], "entries: []\n");
  EXPECT_TRUE(state_registry().entries.empty());
  EXPECT_EQ(store.snapshot()->registry.entries.size(), 4u) << "the policy's entries";
  EXPECT_EQ(api_->counters().configmap_puts, 0);
}

TEST_F(SplitStore, WritesGoToTheStateOnlyAndHoldOnlyWhatDiffersFromThePolicy) {
  auto& store = start_store();
  const auto policy_before = policy();
  const Registry after = store.update([](Registry& r) { return claim(r, "ecommerce/billing-cdc", 184002); });
  ASSERT_NE(find(after, "ecommerce/billing-cdc"), nullptr);
  EXPECT_EQ(after.entries.size(), 5u);
  Registry written = state_registry();
  ASSERT_EQ(written.entries.size(), 1u) << registry_text();
  EXPECT_EQ(written.entries.front(), pending_claim("ecommerce/billing-cdc", 184002));
  EXPECT_TRUE(registry_text().starts_with("entries:\n  - {connector: ecommerce/billing-cdc"))
      << registry_text();

  // A policy entry the change touches is written into the state, overriding it.
  store.update([](Registry& r) {
    for (auto& e : r.entries)
      if (e.connector == "ecommerce/payments-cdc") e.status = EntryStatus::Active;
    return true;
  });
  written = state_registry();
  ASSERT_EQ(written.entries.size(), 2u) << registry_text();
  ASSERT_NE(find(written, "ecommerce/payments-cdc"), nullptr);
  EXPECT_EQ(find(written, "ecommerce/payments-cdc")->status, EntryStatus::Active);
  EXPECT_EQ(find(store.snapshot()->registry, "ecommerce/payments-cdc")->status, EntryStatus::Active);

  const auto policy_after = policy();
  EXPECT_EQ(policy_after["metadata"]["resourceVersion"], policy_before["metadata"]["resourceVersion"]);
  EXPECT_EQ(policy_after["data"], policy_before["data"]);
  EXPECT_EQ(api_->counters().configmap_puts, 2);
}

// registry.md, the human view, is written beside the state's registry.yaml
// and shows the union: the policy's rules and entries with the state's.
TEST_F(SplitStore, TheMarkdownViewInTheStateRendersTheUnion) {
  auto& store = start_store();
  const Registry after = store.update([](Registry& r) { return claim(r, "ecommerce/billing-cdc", 184002); });
  const std::string md = (*state())["data"]["registry.md"];
  EXPECT_EQ(md, render_registry_markdown(after));
  EXPECT_NE(md.find("| ecommerce/billing-cdc | 184002 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| ecommerce/catalog-cdc | 184000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Team **team-a**"), std::string::npos) << md;
}

TEST_F(SplitStore, APolicyChangeIsSeenByTheNextSnapshot) {
  auto& store = start_store();
  EXPECT_EQ(store.snapshot()->registry.teams.size(), 2u);
  Registry changed = parse_registry(policy_yaml(), "policy");
  changed.teams.push_back(Team{"team-c", {"payments"}, IdRange{184200, 184299}, 0});
  changed.reserved.push_back(Reservation{184002, "test database", 0});
  set_policy(render_registry_yaml(changed));
  EXPECT_TRUE(eventually_snapshot([](const Registry& r) {
    return r.teams.size() == 3u && r.team_for_namespace("payments") != nullptr && r.reserved.size() == 2u;
  }));
  EXPECT_EQ(api_->counters().configmap_puts, 0);
}

TEST_F(SplitStore, AClaimSurvivesAPolicyRewrite) {
  auto& store = start_store();
  store.update([](Registry& r) { return claim(r, "ecommerce/billing-cdc", 184002); });
  const std::string state_before = registry_text();
  // As `helm upgrade` does: the policy rendered again, here with a new rule value.
  Registry rewritten = parse_registry(policy_yaml(), "policy");
  rewritten.rules.embargo_days = 60;
  set_policy(render_registry_yaml(rewritten));
  EXPECT_TRUE(eventually_snapshot([](const Registry& r) {
    return r.rules.embargo_days == 60 && find(r, "ecommerce/billing-cdc") != nullptr;
  }));
  EXPECT_EQ(registry_text(), state_before);
  // And a later write keeps it too.
  store.update([](Registry& r) { return claim(r, "ecommerce/refunds-cdc", 184003); });
  const Registry written = state_registry();
  EXPECT_NE(find(written, "ecommerce/billing-cdc"), nullptr);
  EXPECT_NE(find(written, "ecommerce/refunds-cdc"), nullptr);
}

// A policy entry cannot be removed through the state: it stays, nothing is
// written (however often a change tries), and the operator is told once.
TEST_F(SplitStore, RemovingAPolicyOnlyEntryKeepsItWritesNothingAndWarnsOnce) {
  auto& store = start_store();
  const auto remove_catalog = [](Registry& r) {
    std::erase_if(r.entries, [](const RegistryEntry& e) { return e.connector == "ecommerce/catalog-cdc"; });
    return true;
  };
  for (int i = 0; i < 3; ++i) {
    const Registry after = store.update(remove_catalog);
    EXPECT_NE(find(after, "ecommerce/catalog-cdc"), nullptr) << "told it was removed";
  }
  EXPECT_EQ(api_->counters().configmap_puts, 0);
  EXPECT_NE(find(store.snapshot()->registry, "ecommerce/catalog-cdc"), nullptr);
  ASSERT_EQ(warnings().size(), 1u);
  EXPECT_NE(warnings().front().find("ecommerce/catalog-cdc"), std::string::npos) << warnings().front();
  EXPECT_NE(warnings().front().find("policy ConfigMap cdc-guard/policy"), std::string::npos);
  // Removing a state entry does remove it (and the policy's show through again).
  store.update([](Registry& r) { return claim(r, "ecommerce/billing-cdc", 184002); });
  store.update([](Registry& r) {
    std::erase_if(r.entries, [](const RegistryEntry& e) { return e.connector == "ecommerce/billing-cdc"; });
    return true;
  });
  EXPECT_TRUE(state_registry().entries.empty());
}

// A full registry migrated into the state ConfigMap: its sections are
// ignored (told once) and kept by every write.
TEST_F(SplitStore, AStateWithPolicySectionsKeepsThemAndTheUnionIgnoresThem) {
  set_state(
      "rules:\n  range: {from: 1, to: 9}\nteams:\n  - {name: old, namespaces: [ecommerce], range: {from: 1, "
      "to: "
      "9}}\n"
      "entries:\n  - {connector: ecommerce/billing-cdc, serverId: 184002, status: Active}\n");
  auto& store = start_store();
  const Registry r = store.snapshot()->registry;
  EXPECT_EQ(r.rules.range, (IdRange{184000, 184999}));
  EXPECT_EQ(r.teams.size(), 2u);
  EXPECT_NE(find(r, "ecommerce/billing-cdc"), nullptr);
  ASSERT_EQ(warnings().size(), 1u);
  EXPECT_NE(warnings().front().find("ignored"), std::string::npos) << warnings().front();
  store.update([](Registry& reg) { return claim(reg, "ecommerce/refunds-cdc", 184003); });
  const Registry written = state_registry();
  ASSERT_EQ(written.teams.size(), 1u) << registry_text();
  EXPECT_EQ(written.teams.front().name, "old");
  EXPECT_EQ(written.rules.range, (IdRange{1, 9}));
  EXPECT_EQ(written.entries.size(), 2u);
  EXPECT_EQ(warnings().size(), 1u);
}

TEST_F(SplitStore, AMissingPolicyIsNamedAndNothingIsWritten) {
  set_state("entries:\n  - {connector: ecommerce/billing-cdc, serverId: 184002, status: Active}\n");
  api_->remove("ConfigMap", kRegistryNamespace, kPolicyName);
  expect_unusable_and_never_written("the policy ConfigMap cdc-guard/policy does not exist");
  // Created later (helm install order): picked up by the watch.
  set_policy(policy_yaml());
  EXPECT_TRUE(eventually_snapshot([](const Registry& r) { return r.entries.size() == 5u; }));
  EXPECT_EQ(store_->union_problem(), "");
}

TEST_F(SplitStore, AnUnparsablePolicyIsNamedAndNothingIsWritten) {
  set_state("entries:\n  - {connector: ecommerce/billing-cdc, serverId: 184002, status: Active}\n");
  set_policy("rules:\n  range: {from: 184000, to: nope}\n");
  expect_unusable_and_never_written("policy ConfigMap cdc-guard/policy registry.yaml:2:");
}

TEST_F(SplitStore, AnUnparsableStateIsNamedAndNothingIsWritten) {
  set_state("entries:\n  - {connector: ecommerce/billing-cdc, serverId: nope}\n");
  expect_unusable_and_never_written("state ConfigMap cdc-guard/registry registry.yaml:2:");
}

// Each document is valid alone; together two live entries hold one id.
TEST_F(SplitStore, AUnionThatIsNoRegistryIsNamedAndNothingIsWritten) {
  set_state("entries:\n  - {connector: ecommerce/billing-cdc, serverId: 184000, status: Active}\n");
  expect_unusable_and_never_written(
      "the policy ConfigMap cdc-guard/policy and the state ConfigMap cdc-guard/registry do not form a valid "
      "registry: server id 184000 is held by two live entries");
}

// Readiness needs both watches and a union; the reconciler writes the state:
// the policy's Reserved entry becomes the state's Active one once its
// connector is seen, and the policy keeps saying Reserved.
TEST_F(SplitStore, TheRuntimeIsReadyOnlyWithAUnionAndConfirmsIntoTheState) {
  api_->remove("ConfigMap", kRegistryNamespace, kPolicyName);
  api_->apply(connector_object("ecommerce", "payments-cdc", "184005", "payments"));
  kube::ClusterRuntime::Options o;
  o.registry_namespace = kRegistryNamespace;
  o.registry_name = kRegistryName;
  o.client = fast_client();
  o.claims_client = fast_client();
  o.store = options();
  o.cache_informer = o.store.informer;
  o.cluster_name = "eu";
  o.leader_election = false;
  o.resync_period = std::chrono::hours(1);
  o.clock = std::make_shared<FakeClock>();  // the loop passes once, before the policy exists
  o.now = [] { return *parse_timestamp("2026-11-25T10:00:00Z"); };
  kube::ClusterRuntime runtime(cluster_config(), o);
  runtime.start();
  EXPECT_TRUE(eventually([&] {
    return runtime.not_ready() == "the policy ConfigMap cdc-guard/policy does not exist";
  })) << runtime.not_ready();
  const auto policy_object = api_->apply(configmap(kPolicyName, policy_yaml()));
  EXPECT_TRUE(eventually([&] { return runtime.not_ready().empty(); })) << runtime.not_ready();
  ASSERT_TRUE(eventually([&] { return runtime.reconcile_now().has_value(); }));
  const Registry written = state_registry();
  const RegistryEntry* payments = find(written, "ecommerce/payments-cdc");
  ASSERT_NE(payments, nullptr) << registry_text();
  EXPECT_EQ(payments->status, EntryStatus::Active);
  EXPECT_EQ(payments->cluster, "eu");
  EXPECT_EQ(find(runtime.store().snapshot()->registry, "ecommerce/payments-cdc")->status,
            EntryStatus::Active);
  EXPECT_EQ(policy()["metadata"]["resourceVersion"], policy_object["metadata"]["resourceVersion"]);
  EXPECT_EQ(policy()["data"]["registry.yaml"], policy_yaml());
  runtime.stop();
}

// Two replicas find the state missing; the other one's POST lands first: this
// one's POST gets 409 AlreadyExists, so it reads what was created and writes
// its claim on top of it with that resourceVersion.
TEST(SplitStoreCreate, A409FromARacingReplicaMeansReadingTheStateItCreated) {
  std::mutex mutex;
  std::optional<nlohmann::json> state;  // guarded by mutex
  std::vector<std::string> seen;        // METHOD path, per request
  const std::string collection = "/api/v1/namespaces/cdc-guard/configmaps";
  const nlohmann::json policy_object = {
      {"metadata", {{"name", "policy"}, {"namespace", "cdc-guard"}, {"resourceVersion", "7"}}},
      {"data", {{"registry.yaml", policy_yaml()}}}};
  auto transport = std::make_unique<ScriptedTransport>();
  transport->set_handler([&](const kube::HttpRequest& request) -> kube::HttpOutcome {
    std::lock_guard guard(mutex);
    seen.push_back(request.method + " " + request.path);
    const auto list = [](nlohmann::json items) {
      return respond(200, nlohmann::json{{"kind", "ConfigMapList"},
                                         {"metadata", {{"resourceVersion", "10"}}},
                                         {"items", std::move(items)}}
                              .dump());
    };
    if (request.method == "GET" && request.path == collection + "?fieldSelector=metadata.name%3Dpolicy")
      return list(nlohmann::json::array({policy_object}));
    if (request.method == "GET" && request.path == collection + "/policy")
      return respond(200, policy_object.dump());
    if (request.method == "GET" && request.path == collection + "?fieldSelector=metadata.name%3Dregistry")
      return list(state ? nlohmann::json::array({*state}) : nlohmann::json::array());
    if (request.method == "GET" && request.path == collection + "/registry") {
      if (!state) return respond(404, status_body(404, "NotFound", "configmaps \"registry\" not found"));
      return respond(200, state->dump());
    }
    if (request.method == "POST" && request.path == collection) {
      // The other replica's POST, then this one's.
      state = configmap(kRegistryName,
                        "entries:\n  - {connector: ecommerce/other-cdc, serverId: 184009, "
                        "status: Active}\n");
      (*state)["metadata"]["resourceVersion"] = "11";
      return respond(409, status_body(409, "AlreadyExists", "configmaps \"registry\" already exists"));
    }
    if (request.method == "PUT" && request.path == collection + "/registry") {
      auto body = nlohmann::json::parse(request.body);
      if (body["metadata"]["resourceVersion"] != (*state)["metadata"]["resourceVersion"])
        return respond(409, status_body(409, "Conflict", "the object has been modified"));
      body["metadata"]["resourceVersion"] = "12";
      state = body;
      return respond(200, body.dump());
    }
    ADD_FAILURE() << "unexpected request " << request.method << " " << request.path;
    return respond(404, status_body(404, "NotFound", "not here"));
  });
  kube::ClusterConfig config;
  config.token = "test-token";
  config.source = "test";
  kube::KubeClient client(config, fast_client_options(), std::move(transport));
  kube::ConfigMapRegistryStore::Options o;
  o.policy = kube::ConfigMapName{"cdc-guard", "policy"};
  o.deadline = milliseconds(30000);
  kube::ConfigMapRegistryStore store(client, "cdc-guard", "registry", o);
  store.start();
  ASSERT_TRUE(eventually([&] { return store.synced(); }));
  const Registry after = store.update([](Registry& r) {
    r.entries.push_back(pending_claim("ecommerce/billing-cdc", 184002));
    return true;
  });
  EXPECT_NE(find(after, "ecommerce/other-cdc"), nullptr) << "the racing replica's entry was lost";
  EXPECT_NE(find(after, "ecommerce/billing-cdc"), nullptr);
  {
    std::lock_guard guard(mutex);
    const Registry stored = parse_registry((*state)["data"]["registry.yaml"].get<std::string>(), "state");
    EXPECT_EQ(stored.entries.size(), 2u);
    EXPECT_EQ((*state)["metadata"]["resourceVersion"], "12");
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "POST " + collection), 1);
    for (const auto& s : seen) EXPECT_FALSE(s.starts_with("PUT " + collection + "/policy")) << s;
  }
  client.stop_streams();
  store.stop();
}

}  // namespace
}  // namespace cdcguard::testing_support
