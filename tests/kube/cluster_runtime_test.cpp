// The cluster-mode runtime against the fake API server: the reconciler's
// passes (without leader election here: tests/e2e has the Lease) write what
// they change through the store, and its loop runs on a FakeClock.
#include "cdcguard/kube/cluster_runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "cdcguard/model/registry_writer.hpp"
#include "kube/fake_clock.hpp"
#include "kube/kube_fixture.hpp"

namespace cdcguard::testing_support {
namespace {

constexpr auto kResync = std::chrono::seconds(60);

class ClusterRuntimeTest : public FakeClusterFixture {
 protected:
  // The fixture's registry plus a Pending claim of ecommerce/billing-cdc on 184002.
  void SetUp() override {
    FakeClusterFixture::SetUp();
    Registry seeded = registry();
    seeded.entries.push_back(pending_claim("ecommerce/billing-cdc", 184002));
    api_->apply(registry_configmap(render_registry_yaml(seeded)));
  }

  std::unique_ptr<kube::ClusterRuntime> make_runtime(const char* now) {
    kube::ClusterRuntime::Options o;
    o.registry_namespace = kRegistryNamespace;
    o.registry_name = kRegistryName;
    o.client = fast_client();
    o.claims_client = fast_client();
    o.store.informer.backoff_base = std::chrono::milliseconds(20);
    o.store.informer.backoff_max = std::chrono::milliseconds(200);
    o.store.deadline = std::chrono::milliseconds(30000);  // a hang guard, on the real clock
    o.cache_informer = o.store.informer;
    o.cluster_name = "eu";
    o.resync_period = kResync;
    o.leader_election = false;
    o.clock = clock_;
    o.now = [this, at = *parse_timestamp(now)] { return at + offset_.load(); };
    o.on_reconciled = [this](const ReconcileReport& r) { changes_ += static_cast<int>(r.changes.size()); };
    o.on_reconcile_error = [this](const std::string&) { ++errors_; };
    return std::make_unique<kube::ClusterRuntime>(cluster_config(), o);
  }

  const RegistryEntry* entry(const Registry& r, const std::string& connector) const {
    const auto it = std::find_if(r.entries.begin(), r.entries.end(),
                                 [&](const RegistryEntry& e) { return e.connector == connector; });
    return it == r.entries.end() ? nullptr : &*it;
  }
  bool cache_sees_billing(kube::ClusterRuntime& runtime) const {
    const auto* facts = runtime.cache().snapshot()->connectors.find("ecommerce/billing-cdc");
    return facts && facts->server_id.id == 184002u;
  }
  EntryStatus billing_status() const {
    const Registry now = registry();
    const auto* e = entry(now, "ecommerce/billing-cdc");
    return e ? e->status : EntryStatus::Reserved;
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::atomic<std::chrono::seconds> offset_{std::chrono::seconds(0)};
  std::atomic<int> changes_{0};
  std::atomic<int> errors_{0};
};

// The loop: a pass follows the cache's change once the clock allows it, and
// the claim is confirmed with the object's uid and this cluster's name.
TEST_F(ClusterRuntimeTest, APendingClaimBecomesActiveOnThePassAfterItsConnectorAppears) {
  auto runtime = make_runtime("2026-11-25T10:01:00Z");
  EXPECT_NE(runtime->not_ready(), "") << "nothing read before start()";
  runtime->start();
  ASSERT_TRUE(eventually([&] { return runtime->not_ready().empty(); })) << runtime->not_ready();

  api_->apply(connector_object("ecommerce", "billing-cdc", "184002", "billing"));
  ASSERT_TRUE(eventually([&] { return cache_sees_billing(*runtime); }));
  // Whatever the loop waits for now (the pause between passes, a retry, the
  // resync) lies within one resync period.
  clock_->advance(kResync);
  ASSERT_TRUE(eventually([&] { return billing_status() == EntryStatus::Active; })) << registry_text();
  const Registry after = registry();
  const auto* billing = entry(after, "ecommerce/billing-cdc");
  EXPECT_EQ(billing->server_id, 184002u);
  EXPECT_EQ(billing->claim_uid, "");
  EXPECT_EQ(billing->cluster, "eu");
  EXPECT_EQ(billing->uid, api_->get("KafkaConnector", "ecommerce", "billing-cdc")->at("metadata").at("uid"));
  EXPECT_TRUE(eventually([&] { return changes_ >= 1; }));
  EXPECT_EQ(errors_.load(), 0);
  const std::string metrics = runtime->metrics();
  EXPECT_NE(metrics.find("cdcguard_leader 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("cdcguard_reconcile_changes_total{kind=\"confirmed\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("cdcguard_reconcile_last_success_timestamp_seconds 1795600860\n"), std::string::npos)
      << metrics;
  runtime->stop();
}

// Passes one at a time: confirm, then the deletion is decommissioned on the
// day it is seen; a pass with nothing to do writes nothing.
TEST_F(ClusterRuntimeTest, ADeletedConnectorsEntryIsDecommissioned) {
  auto runtime = make_runtime("2026-11-25T10:01:00Z");
  api_->apply(connector_object("ecommerce", "billing-cdc", "184002", "billing"));
  runtime->start();
  ASSERT_TRUE(eventually([&] { return runtime->not_ready().empty() && cache_sees_billing(*runtime); }));
  ASSERT_TRUE(eventually([&] {
    return billing_status() == EntryStatus::Active || (runtime->reconcile_now(), false);
  })) << registry_text();
  const int puts = api_->counters().configmap_puts;
  const auto idle = runtime->reconcile_now();
  ASSERT_TRUE(idle.has_value());
  EXPECT_FALSE(idle->changed());
  EXPECT_EQ(api_->counters().configmap_puts, puts) << "nothing changed: nothing written";

  ASSERT_TRUE(api_->remove("KafkaConnector", "ecommerce", "billing-cdc"));
  ASSERT_TRUE(eventually([&] { return !cache_sees_billing(*runtime); }));
  offset_ = std::chrono::hours(2);
  ASSERT_TRUE(eventually([&] {
    return billing_status() == EntryStatus::Decommissioned || (runtime->reconcile_now(), false);
  })) << registry_text();
  const Registry after = registry();
  EXPECT_EQ(entry(after, "ecommerce/billing-cdc")->decommissioned_at,
            *parse_timestamp("2026-11-25T12:01:00Z"));
  runtime->stop();
}

TEST_F(ClusterRuntimeTest, ALapsedClaimWhoseConnectorNeverCameIsRemoved) {
  auto runtime = make_runtime("2026-11-25T10:06:00Z");  // the claim expired at 10:05
  runtime->start();
  ASSERT_TRUE(eventually([&] { return runtime->not_ready().empty(); }));
  ASSERT_TRUE(eventually([&] {
    const Registry now = registry();
    return entry(now, "ecommerce/billing-cdc") == nullptr || (runtime->reconcile_now(), false);
  })) << registry_text();
  EXPECT_NE(entry(registry(), "ecommerce/orders-cdc"), nullptr) << "others left alone";
  runtime->stop();
}

TEST_F(ClusterRuntimeTest, ReconcilesNothingBeforeItHasSynced) {
  auto runtime = make_runtime("2026-11-25T10:06:00Z");
  api_->apply(connector_object("ecommerce", "billing-cdc", "184002", "billing"));
  EXPECT_EQ(runtime->reconcile_now(), std::nullopt) << "not started: nothing read";
  EXPECT_EQ(billing_status(), EntryStatus::Pending);
  EXPECT_EQ(api_->counters().configmap_puts, 0);
}

}  // namespace
}  // namespace cdcguard::testing_support
