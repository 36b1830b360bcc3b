// The cluster-mode runtime against the fake API server: the reconciler's
// passes (without leader election here: tests/e2e has the Lease) write what
// they change through the store, and its loop runs on a FakeClock.
#include "cdcguard/kube/cluster_runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <memory>
#include <mutex>
#include <vector>

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

  std::unique_ptr<kube::ClusterRuntime> make_runtime(const char* now,
                                                     std::shared_ptr<kube::EventRecorder> events = nullptr) {
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
    // The fake serves no events.k8s.io: Events only where a test records them.
    o.audit_events = events != nullptr;
    o.event_recorder = std::move(events);
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

// Events in memory, as the API server would have them: by name, with the count.
class RecordedEvents final : public kube::EventRecorder {
 public:
  void record(const AuditEvent& event, TimePoint) override {
    std::lock_guard guard(mutex_);
    writes_.push_back(event);
  }
  std::vector<AuditEvent> writes() const {
    std::lock_guard guard(mutex_);
    return writes_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<AuditEvent> writes_;
};

// The leader's audit: two connectors on one id are reported once each, as
// gauges and as one Warning Event per connector and rule; passes within the
// hour add no Event, the next hour repeats each (its series count 2).
TEST_F(ClusterRuntimeTest, TheAuditWritesOneEventPerConnectorAndRuleAnHour) {
  auto events = std::make_shared<RecordedEvents>();
  auto runtime = make_runtime("2026-11-25T10:06:00Z", events);
  api_->apply(connector_object("ecommerce", "users-cdc", "184100", "users"));
  api_->apply(connector_object("ecommerce", "users-copy", "184100", "users-copy"));
  runtime->start();
  ASSERT_TRUE(eventually(
      [&] { return runtime->not_ready().empty() && runtime->cache().snapshot()->connectors.size() == 2; }));
  for (int pass = 0; pass < 3; ++pass) {
    const auto report = runtime->audit_now();
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(std::count_if(report->violations.begin(), report->violations.end(),
                            [](const Violation& v) { return v.rule == "server-id-duplicate"; }),
              2);
  }
  auto writes = events->writes();
  std::vector<AuditEvent> duplicates;
  std::copy_if(writes.begin(), writes.end(), std::back_inserter(duplicates),
               [](const AuditEvent& e) { return e.rule == "server-id-duplicate"; });
  ASSERT_EQ(duplicates.size(), 2u) << "one per connector, not one per pass";
  EXPECT_EQ(duplicates[0].object_name, "users-cdc");
  EXPECT_EQ(duplicates[1].object_name, "users-copy");
  EXPECT_EQ(duplicates[0].count, 1);
  EXPECT_EQ(duplicates[0].object_uid,
            api_->get("KafkaConnector", "ecommerce", "users-cdc")->at("metadata").at("uid"));
  EXPECT_NE(duplicates[0].note.find("ecommerce/users-copy"), std::string::npos) << duplicates[0].note;
  const std::string metrics = runtime->metrics();
  EXPECT_NE(metrics.find("cdcguard_violations{rule=\"server-id-duplicate\"} 2\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("cdcguard_violations{rule=\"topic-prefix-duplicate\"} 0\n"), std::string::npos)
      << metrics;

  offset_ = std::chrono::minutes(59);
  runtime->audit_now();
  EXPECT_EQ(events->writes().size(), writes.size()) << "within the hour: nothing new";
  offset_ = std::chrono::minutes(60);
  runtime->audit_now();
  writes = events->writes();
  const auto repeated = std::count_if(writes.begin(), writes.end(), [&](const AuditEvent& e) {
    return e.rule == "server-id-duplicate" && e.count == 2 && e.event_name == duplicates[0].event_name;
  });
  EXPECT_EQ(repeated, 1) << "the same Event, its series one higher";
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
