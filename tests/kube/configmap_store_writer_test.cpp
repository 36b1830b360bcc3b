// The ConfigMap store's writer with a fake clock and an in-memory ConfigMap
// behind a scripted transport: claims waiting together go out in one PUT, a
// 409 re-judges the whole batch against the new version, and every claim is
// answered by its deadline, whether it is still queued or its PUT is slow.
// Time moves only when the test (or a sleep) moves it, so each scenario plays
// out the same way on any machine, however loaded.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cdcguard/kube/configmap_registry_store.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/model/time.hpp"
#include "kube/fake_clock.hpp"
#include "kube/kube_fixture.hpp"
#include "kube/scripted_transport.hpp"

namespace cdcguard::testing_support {
namespace {

using namespace std::chrono_literals;
using kube::HttpOutcome;
using nlohmann::json;

RegistryEntry pending(const std::string& connector, std::uint32_t id) {
  return testing_support::pending_claim(connector, id);
}

std::optional<std::uint32_t> id_of(const Registry& r, const std::string& connector) {
  for (const auto& e : r.entries)
    if (e.connector == connector) return e.server_id;
  return std::nullopt;
}

// One claim: what its change saw and decided each time it ran, and how
// update() ended.
struct Claim {
  explicit Claim(std::string c, std::optional<std::uint32_t> w = std::nullopt)
      : connector(std::move(c)), wanted(w) {}

  std::string connector;
  std::optional<std::uint32_t> wanted;  // a given id; none: the lowest free one from 184002
  std::vector<std::uint32_t> picks;     // per run: the id taken, 0 when it lost
  std::optional<Registry> result;
  std::string error;
  MonotonicClock::time_point answered_at;

  bool operator()(Registry& r) {
    std::set<std::uint32_t> used;
    for (const auto& e : r.entries) used.insert(e.server_id);
    std::uint32_t id = wanted.value_or(184002);
    if (wanted && used.count(id)) {
      picks.push_back(0);  // taken: this claim loses
      return false;
    }
    while (used.count(id)) ++id;
    picks.push_back(id);
    r.entries.push_back(pending(connector, id));
    return true;
  }
};

class StoreWriterTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    if (client_) client_->stop_streams();
    if (store_) store_->stop();
  }

  // The store as `serve` sets up its claims client: one PUT retry.
  kube::ConfigMapRegistryStore& start_store() {
    auto transport = std::make_unique<ScriptedTransport>();
    transport->set_handler([this](const kube::HttpRequest& r) { return configmap_.handle(r); });
    kube::ClientOptions client_options;
    client_options.max_attempts = 2;
    client_options.backoff_base = 50ms;
    client_options.backoff_max = 200ms;
    client_options.clock = clock_;
    kube::ClusterConfig config;
    config.token = "test-token";
    config.source = "test";
    client_ = std::make_unique<kube::KubeClient>(config, client_options, std::move(transport));
    kube::ConfigMapRegistryStore::Options options;
    options.clock = clock_;
    store_ = std::make_unique<kube::ConfigMapRegistryStore>(*client_, "cdc-guard", "registry", options);
    store_->start();
    EXPECT_TRUE(eventually([&] { return store_->synced(); }));
    start_ = clock_->now();
    return *store_;
  }

  // Runs claim.update() in a thread of its own, and returns once the claim
  // is queued: its caller waits for the verdict (`waiting` callers in all).
  void submit(Claim& claim, std::size_t waiting) {
    threads_.emplace_back([this, &claim] {
      try {
        claim.result = store_->update([&claim](Registry& r) { return claim(r); });
      } catch (const StoreError& e) {
        claim.error = e.what();
      }
      claim.answered_at = clock_->now();
    });
    ASSERT_TRUE(clock_->await_waiting(waiting)) << "the claim was never queued";
  }
  // The informer's quiet watch ends only when the client's streams are stopped.
  void stop_store() {
    client_->stop_streams();
    store_->stop();
  }
  void join_all() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  Registry stored() const { return parse_registry(configmap_.registry_yaml(), "registry.yaml"); }
  MonotonicClock::duration since_start() const { return clock_->now() - start_; }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  InMemoryConfigMap configmap_{"cdc-guard", "registry", read_fixture_file("admission/registry.yaml")};
  std::unique_ptr<kube::KubeClient> client_;
  std::unique_ptr<kube::ConfigMapRegistryStore> store_;
  std::vector<std::thread> threads_;
  MonotonicClock::time_point start_;
};

// While one PUT is out, three more claims arrive: they are applied in the
// order they came to the version that PUT wrote (each sees the ones before
// it) and written together in the second PUT.
TEST_F(StoreWriterTest, ClaimsWaitingTogetherBecomeOnePut) {
  start_store();
  Gate first_put;
  configmap_.set_before_put([&](int put, const json&) -> std::optional<HttpOutcome> {
    if (put == 1) first_put.pass();
    return std::nullopt;
  });
  Claim a{"ecommerce/a-cdc"}, b{"ecommerce/b-cdc"}, c{"ecommerce/c-cdc"}, d{"ecommerce/d-cdc"};
  submit(a, 1);
  ASSERT_TRUE(first_put.await_arrivals(1));
  submit(b, 2);
  submit(c, 3);
  submit(d, 4);
  first_put.open();
  join_all();

  EXPECT_EQ(a.picks, (std::vector<std::uint32_t>{184002}));
  EXPECT_EQ(b.picks, (std::vector<std::uint32_t>{184003}));
  EXPECT_EQ(c.picks, (std::vector<std::uint32_t>{184004}));
  EXPECT_EQ(d.picks, (std::vector<std::uint32_t>{184005}));
  for (const Claim* claim : {&a, &b, &c, &d}) {
    EXPECT_EQ(claim->error, "") << claim->connector;
    ASSERT_TRUE(claim->result) << claim->connector;
    EXPECT_EQ(id_of(*claim->result, claim->connector), claim->picks.back());
  }
  EXPECT_EQ(configmap_.puts(), 2);
  const auto stats = store_->stats();
  EXPECT_EQ(stats.batches, 2);
  EXPECT_EQ(stats.changes, 4);
  EXPECT_EQ(stats.puts, 2);
  EXPECT_EQ(stats.conflicts, 0);
  const Registry written = stored();
  EXPECT_EQ(written.entries.size(), 3u + 4u);
  EXPECT_EQ(id_of(written, "ecommerce/d-cdc"), 184005u);
  EXPECT_TRUE(clock_->sleeps().empty()) << "no contention, so no pause between writes";
}

// Another replica writes between this one's read and its PUT: the 409 makes
// the writer re-read and apply the whole batch again, in order, to the new
// version. A claim whose id the rival took now loses; the others move on.
TEST_F(StoreWriterTest, AConflictReJudgesTheWholeBatchAgainstTheNewVersion) {
  start_store();
  Gate first_put;
  configmap_.set_before_put([&](int put, const json&) -> std::optional<HttpOutcome> {
    if (put == 1) first_put.pass();
    if (put == 2) {
      Registry rival = parse_registry(configmap_.registry_yaml(), "registry.yaml");
      rival.entries.push_back(pending("ecommerce/rival-cdc", 184003));
      configmap_.write(render_registry_yaml(rival));
    }
    return std::nullopt;
  });
  Claim a{"ecommerce/a-cdc"}, b{"ecommerce/b-cdc"}, c{"ecommerce/c-cdc", 184004}, d{"ecommerce/d-cdc"};
  submit(a, 1);
  ASSERT_TRUE(first_put.await_arrivals(1));
  submit(b, 2);
  submit(c, 3);
  submit(d, 4);
  first_put.open();
  join_all();

  EXPECT_EQ(a.picks, (std::vector<std::uint32_t>{184002}));
  // First against the version A wrote, then against the rival's.
  EXPECT_EQ(b.picks, (std::vector<std::uint32_t>{184003, 184004}));
  EXPECT_EQ(c.picks, (std::vector<std::uint32_t>{184004, 0}));
  EXPECT_EQ(d.picks, (std::vector<std::uint32_t>{184005, 184005}));
  ASSERT_TRUE(c.result);
  EXPECT_FALSE(id_of(*c.result, "ecommerce/c-cdc")) << "the loser learns from the registry it was judged on";
  EXPECT_EQ(id_of(*c.result, "ecommerce/b-cdc"), 184004u);

  const Registry written = stored();
  EXPECT_EQ(id_of(written, "ecommerce/rival-cdc"), 184003u);
  EXPECT_EQ(id_of(written, "ecommerce/b-cdc"), 184004u);
  EXPECT_FALSE(id_of(written, "ecommerce/c-cdc"));
  EXPECT_EQ(id_of(written, "ecommerce/d-cdc"), 184005u);
  EXPECT_EQ(configmap_.puts(), 3);
  EXPECT_EQ(configmap_.conflicts(), 1);
  EXPECT_EQ(store_->stats().conflicts, 1);

  // A random pause of at most conflict_backoff (5 ms) before the re-read,
  // and, after the write that followed, write_interval (10 ms) before the next.
  ASSERT_TRUE(eventually([&] { return clock_->sleeps().size() == 2; }));
  const auto sleeps = clock_->sleeps();
  EXPECT_LE(sleeps[0], 5ms);
  EXPECT_EQ(sleeps[1], 10ms);
}

// A claim's deadline (4 s) passes while the PUT before it hangs: it is
// answered then, and never applied or written. The claim in that PUT is
// answered at its deadline too, while its PUT is still in flight; the PUT is
// applied later, so that claim stays in the ConfigMap as Pending (it lapses
// after its TTL unless its connector appears).
TEST_F(StoreWriterTest, AClaimStillQueuedAtItsDeadlineFailsAndIsNeverWritten) {
  start_store();
  Gate first_put;
  configmap_.set_before_put([&](int put, const json&) -> std::optional<HttpOutcome> {
    if (put == 1) first_put.pass();
    return std::nullopt;
  });
  Claim a{"ecommerce/a-cdc"}, b{"ecommerce/b-cdc"};
  submit(a, 1);
  ASSERT_TRUE(first_put.await_arrivals(1));
  clock_->advance(1s);
  submit(b, 2);

  clock_->advance(3s);  // A's deadline
  threads_[0].join();
  EXPECT_EQ(a.answered_at - start_, 4s);
  EXPECT_NE(
      a.error.find("timed out after 4000 ms writing ConfigMap cdc-guard/registry: the write was still in "
                   "progress"),
      std::string::npos)
      << a.error;
  clock_->advance(1s);  // B's
  threads_[1].join();
  EXPECT_EQ(b.answered_at - start_, 5s);
  EXPECT_EQ(b.error,
            "timed out after 4000 ms waiting to write ConfigMap cdc-guard/registry (0 conflicting writes); "
            "nothing was written");
  EXPECT_TRUE(b.picks.empty()) << "a claim whose caller gave up is never applied";

  first_put.open();
  ASSERT_TRUE(eventually([&] { return configmap_.puts() == 1; }));
  stop_store();  // the writer has nothing left to do
  EXPECT_EQ(configmap_.puts(), 1);
  EXPECT_EQ(id_of(stored(), "ecommerce/a-cdc"), 184002u) << "applied after its admission was answered";
  EXPECT_FALSE(id_of(stored(), "ecommerce/b-cdc"));
  threads_.clear();
}

// A PUT that takes 3 s is slow but within the deadline: its claim is
// answered when it returns, and the claim queued meanwhile goes next.
TEST_F(StoreWriterTest, ASlowPutWithinTheDeadlineAnswersItsClaimWhenItReturns) {
  start_store();
  Gate first_put;
  configmap_.set_before_put([&](int put, const json&) -> std::optional<HttpOutcome> {
    if (put == 1) {
      first_put.pass();
      clock_->advance(3s);
    }
    return std::nullopt;
  });
  Claim a{"ecommerce/a-cdc"}, b{"ecommerce/b-cdc"};
  submit(a, 1);
  ASSERT_TRUE(first_put.await_arrivals(1));
  submit(b, 2);
  first_put.open();
  join_all();
  EXPECT_EQ(a.error, "");
  EXPECT_EQ(b.error, "");
  EXPECT_EQ(a.answered_at - start_, 3s);
  EXPECT_EQ(b.answered_at - start_, 3s);
  EXPECT_EQ(id_of(stored(), "ecommerce/a-cdc"), 184002u);
  EXPECT_EQ(id_of(stored(), "ecommerce/b-cdc"), 184003u);
  EXPECT_EQ(configmap_.puts(), 2);
}

// What an earlier version answered only after about 7 s: a claim queued
// behind a slow PUT for 2.4 s, then its own PUT times out after 1.5 s and the
// client retries it. The admission is answered at its 4 s deadline, while the
// retry is still out; the claim is not applied again, but the PUT goes on and
// writes it, so it stays Pending until its TTL.
TEST_F(StoreWriterTest, AnAdmissionIsAnsweredAtItsDeadlineWhileItsPutIsStillRetried) {
  start_store();
  Gate first_put, second_put, retry;
  configmap_.set_before_put([&](int put, const json&) -> std::optional<HttpOutcome> {
    if (put == 1) first_put.pass();
    if (put == 2) {
      second_put.pass();        // until the test has seen A's answer
      clock_->advance(1500ms);  // the claims client's request timeout
      return fail_with("reading the response failed or timed out");
    }
    if (put == 3) retry.pass();
    return std::nullopt;
  });
  Claim a{"ecommerce/a-cdc"}, b{"ecommerce/b-cdc"};
  submit(a, 1);
  ASSERT_TRUE(first_put.await_arrivals(1));
  submit(b, 2);
  clock_->advance(2400ms);
  first_put.open();
  threads_[0].join();
  EXPECT_EQ(a.error, "");
  EXPECT_EQ(a.answered_at - start_, 2400ms);
  second_put.open();
  ASSERT_TRUE(retry.await_arrivals(1));  // 2.4 s + 1.5 s + the client's backoff (25..50 ms)
  EXPECT_LT(since_start(), 4s);
  clock_->advance(4s - since_start());
  threads_[1].join();
  EXPECT_EQ(b.answered_at - start_, 4s) << "answered at its deadline, not when the PUT returns";
  EXPECT_NE(b.error.find("the write was still in progress, and if it is applied, a Pending claim in it stays "
                         "until it expires"),
            std::string::npos)
      << b.error;
  EXPECT_EQ(b.picks.size(), 1u);

  retry.open();
  ASSERT_TRUE(eventually([&] { return configmap_.puts() == 2; }));
  stop_store();
  EXPECT_EQ(b.picks.size(), 1u) << "never applied again after its caller was answered";
  const Registry written = stored();
  ASSERT_TRUE(id_of(written, "ecommerce/b-cdc"));
  for (const auto& e : written.entries) {
    if (e.connector == "ecommerce/b-cdc") {
      EXPECT_EQ(e.status, EntryStatus::Pending);
    }
  }
  threads_.clear();
}

// Applying a batch took so long that one claim's deadline passed meanwhile:
// the batch is applied again without it before anything is sent, so it is
// never written, and its caller returns only once its change has finished.
TEST_F(StoreWriterTest, AClaimWhoseDeadlinePassesWhileTheBatchIsAppliedIsLeftOutOfThePut) {
  start_store();
  Gate first_put;
  configmap_.set_before_put([&](int put, const json&) -> std::optional<HttpOutcome> {
    if (put == 1) first_put.pass();
    return std::nullopt;
  });
  std::mutex order_mutex;
  std::vector<std::string> order;
  Claim a{"ecommerce/a-cdc"}, c{"ecommerce/c-cdc"};
  int slow_runs = 0;
  submit(a, 1);
  ASSERT_TRUE(first_put.await_arrivals(1));
  std::string slow_error;
  threads_.emplace_back([&] {
    try {
      store_->update([&](Registry& r) {
        ++slow_runs;
        clock_->advance(3500ms);  // the deadline passes while this runs
        r.entries.push_back(pending("ecommerce/slow-cdc", 184100));
        std::lock_guard guard(order_mutex);
        order.push_back("change done");
        return true;
      });
    } catch (const StoreError& e) {
      slow_error = e.what();
    }
    std::lock_guard guard(order_mutex);
    order.push_back("update returned");
  });
  ASSERT_TRUE(clock_->await_waiting(2));
  clock_->advance(1s);
  submit(c, 3);
  first_put.open();
  join_all();

  EXPECT_EQ(slow_runs, 1);
  EXPECT_EQ(slow_error,
            "timed out after 4000 ms waiting to write ConfigMap cdc-guard/registry (0 conflicting writes); "
            "nothing was written");
  EXPECT_EQ(order, (std::vector<std::string>{"change done", "update returned"}));
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.picks.size(), 2u) << "applied again without the expired claim";
  const Registry written = stored();
  EXPECT_FALSE(id_of(written, "ecommerce/slow-cdc"));
  EXPECT_EQ(id_of(written, "ecommerce/c-cdc"), 184003u);
  EXPECT_EQ(configmap_.puts(), 2);
}

}  // namespace
}  // namespace cdcguard::testing_support
