// The cluster-mode runtime against the fake API server: its claim
// confirmation loop runs on a FakeClock, so a pass happens exactly when the
// test moves time past the interval.
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

constexpr auto kInterval = std::chrono::seconds(10);

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
    o.confirm_interval = kInterval;
    o.clock = clock_;
    o.now = [at = *parse_timestamp(now)] { return at; };
    o.on_confirmed = [this](std::size_t n) { confirmed_ += static_cast<int>(n); };
    o.on_confirm_error = [this](const std::string&) { ++errors_; };
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

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::atomic<int> confirmed_{0};
  std::atomic<int> errors_{0};
};

TEST_F(ClusterRuntimeTest, APendingClaimBecomesActiveOnTheFirstTickAfterItsConnectorAppears) {
  auto runtime = make_runtime("2026-11-25T10:01:00Z");
  EXPECT_NE(runtime->not_ready(), "") << "nothing read before start()";
  runtime->start();
  ASSERT_TRUE(eventually([&] { return runtime->not_ready().empty(); })) << runtime->not_ready();
  ASSERT_TRUE(clock_->await_waiting(1)) << "the confirmation loop waits for its interval";

  api_->apply(connector_object("ecommerce", "billing-cdc", "184002", "billing"));
  ASSERT_TRUE(eventually([&] { return cache_sees_billing(*runtime); }));
  {
    const Registry before = registry();
    ASSERT_NE(entry(before, "ecommerce/billing-cdc"), nullptr);
    EXPECT_EQ(entry(before, "ecommerce/billing-cdc")->status, EntryStatus::Pending) << "no tick yet";
  }

  clock_->advance(kInterval - std::chrono::milliseconds(1));
  ASSERT_TRUE(clock_->await_waiting(1));
  EXPECT_EQ(confirmed_.load(), 0) << "the interval has not passed";

  clock_->advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(eventually([&] {
    const Registry now = registry();  // entry() points into it
    const auto* e = entry(now, "ecommerce/billing-cdc");
    return e && e->status == EntryStatus::Active;
  })) << registry_text();
  const Registry after = registry();
  EXPECT_EQ(entry(after, "ecommerce/billing-cdc")->server_id, 184002u);
  EXPECT_EQ(entry(after, "ecommerce/billing-cdc")->claim_uid, "");
  EXPECT_EQ(entry(after, "ecommerce/orders-cdc")->status, EntryStatus::Active) << "others left alone";
  EXPECT_TRUE(eventually([&] { return confirmed_ == 1; }));
  EXPECT_EQ(errors_.load(), 0);
  EXPECT_NE(runtime->metrics().find("cdcguard_registry_puts_total 1\n"), std::string::npos)
      << runtime->metrics();
  runtime->stop();
}

TEST_F(ClusterRuntimeTest, ALapsedClaimIsNotConfirmedEvenWhenItsConnectorIsSeen) {
  auto runtime = make_runtime("2026-11-25T10:06:00Z");  // the claim expired at 10:05
  api_->apply(connector_object("ecommerce", "billing-cdc", "184002", "billing"));
  runtime->start();
  ASSERT_TRUE(eventually([&] { return runtime->not_ready().empty() && cache_sees_billing(*runtime); }));
  EXPECT_EQ(runtime->confirm_claims_now(), 0u);
  EXPECT_EQ(entry(registry(), "ecommerce/billing-cdc")->status, EntryStatus::Pending);
  EXPECT_EQ(api_->counters().configmap_puts, 0);
  runtime->stop();
}

TEST_F(ClusterRuntimeTest, ConfirmsNothingBeforeItHasSynced) {
  auto runtime = make_runtime("2026-11-25T10:01:00Z");
  api_->apply(connector_object("ecommerce", "billing-cdc", "184002", "billing"));
  EXPECT_EQ(runtime->confirm_claims_now(), 0u) << "not started: nothing read";
  EXPECT_EQ(entry(registry(), "ecommerce/billing-cdc")->status, EntryStatus::Pending);
}

}  // namespace
}  // namespace cdcguard::testing_support
