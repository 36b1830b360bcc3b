// LeaderElector on a fake clock and an in-memory Lease (the API server's
// resourceVersion compare-and-swap, 404, 409): the election is driven round
// by round with step(), so every deadline is met or missed exactly, never by
// how fast the machine is. The threaded mode (start(): the loop and the
// watchdog that ends a term while a renewal hangs) is tested on the same
// fake clock, waiting only for states.
#include "cdcguard/kube/leader_election.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kube/fake_clock.hpp"
#include "kube/in_memory_leases.hpp"
#include "kube/kube_fixture.hpp"
#include "kube/scripted_transport.hpp"

namespace cdcguard::testing_support {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using kube::LeaderElector;
using Clock = MonotonicClock;

constexpr const char* kNamespace = "cdc-guard";
constexpr const char* kLease = "cdc-guard-reconciler";

// What one candidate's callbacks reported, in order.
class Events {
 public:
  void add(std::string what) {
    std::lock_guard guard(mutex_);
    events_.push_back(std::move(what));
  }
  std::vector<std::string> all() const {
    std::lock_guard guard(mutex_);
    return events_;
  }
  int count(const std::string& what) const {
    std::lock_guard guard(mutex_);
    return static_cast<int>(std::count(events_.begin(), events_.end(), what));
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

struct Candidate {
  ScriptedTransport* transport = nullptr;  // owned by client
  std::unique_ptr<kube::KubeClient> client;
  Events events;
  std::unique_ptr<LeaderElector> elector;

  LeaderElector* operator->() { return elector.get(); }
  std::size_t requests() const { return transport->requests().size(); }
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  // Hooks and handlers may refer to a test's locals, gone by now: the
  // electors stop (and release) against the plain in-memory Leases.
  void TearDown() override {
    leases_.set_before_write({});
    leases_.set_unreachable(false);
    for (auto& c : candidates_) {
      c->transport->set_handler(leases_.handler());
      c->elector->stop();
    }
  }

  // Calendar time moves with the fake clock, from 10:00:00.123456 UTC, so
  // that the MicroTimes written are known to the microsecond.
  std::chrono::system_clock::time_point wall_now() const {
    using namespace std::chrono;
    const auto base = sys_days{year{2026} / 11 / 25} + 10h + 123456us;
    return base + duration_cast<system_clock::duration>(clock_->now() - start_);
  }

  kube::LeaderElectionOptions options(const std::string& identity, Events& events) {
    kube::LeaderElectionOptions o;
    o.namespace_name = kNamespace;
    o.name = kLease;
    o.identity = identity;
    o.clock = clock_;
    o.wall_clock = [this] { return wall_now(); };
    o.random_fraction = [] { return 0.5; };
    o.on_started_leading = [&events] { events.add("started"); };
    o.on_stopped_leading = [&events] { events.add("stopped"); };
    o.on_new_leader = [&events](const std::string& who) { events.add("new " + who); };
    return o;
  }

  // A candidate whose requests go to `leases_` through its own client, unless
  // `handler` answers them instead.
  Candidate& candidate(const std::string& identity, ScriptedTransport::Handler handler = {},
                       const std::function<void(kube::LeaderElectionOptions&)>& tweak = {}) {
    auto& c = *candidates_.emplace_back(std::make_unique<Candidate>());
    auto transport = std::make_unique<ScriptedTransport>();
    c.transport = transport.get();
    c.transport->set_handler(handler ? std::move(handler) : leases_.handler());
    kube::ClientOptions client_options;
    client_options.max_attempts = 1;  // the elector's own retries are under test
    client_options.clock = clock_;
    kube::ClusterConfig config;
    config.token = "test-token";
    config.source = "test";
    c.client = std::make_unique<kube::KubeClient>(config, client_options, std::move(transport));
    auto o = options(identity, c.events);
    if (tweak) tweak(o);
    c.elector = std::make_unique<LeaderElector>(*c.client, std::move(o));
    return c;
  }

  json lease() const { return leases_.get(kLease).value_or(json()); }
  json spec() const { return lease().value("spec", json()); }
  std::string micro(std::chrono::milliseconds since_start) const {
    // 10:00:00.123456 plus `since_start`, as a MicroTime.
    const auto ms = 123 + since_start.count();
    char out[64];
    std::snprintf(out, sizeof out, "2026-11-25T10:%02lld:%02lld.%03lld456Z",
                  static_cast<long long>(ms / 60000), static_cast<long long>(ms / 1000 % 60),
                  static_cast<long long>(ms % 1000));
    return out;
  }
  // Moves the fake clock to `at`.
  void advance_to(Clock::time_point at) {
    if (at > clock_->now()) clock_->advance(at - clock_->now());
  }
  Clock::time_point since_start(Clock::duration d) const { return start_ + d; }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  const Clock::time_point start_ = clock_->now();
  InMemoryLeases leases_{kNamespace};
  std::vector<std::unique_ptr<Candidate>> candidates_;
};

// ---- acquiring ------------------------------------------------------------------

TEST_F(LeaderElectionTest, AMissingLeaseIsCreatedNamingTheCandidate) {
  auto& a = candidate("a");
  EXPECT_FALSE(a->is_leader());
  const Clock::time_point next = a->step();

  EXPECT_TRUE(a->is_leader());
  EXPECT_EQ(a->leader(), "a");
  const auto requests = a.transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path,
            "/apis/coordination.k8s.io/v1/namespaces/cdc-guard/leases/cdc-guard-reconciler");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, "/apis/coordination.k8s.io/v1/namespaces/cdc-guard/leases");
  const json created = json::parse(requests[1].body);
  EXPECT_EQ(created["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(created["kind"], "Lease");
  EXPECT_EQ(created["metadata"]["name"], kLease);
  EXPECT_EQ(created["metadata"]["namespace"], kNamespace);
  EXPECT_EQ(spec(), (json{{"holderIdentity", "a"},
                          {"leaseDurationSeconds", 15},
                          {"acquireTime", "2026-11-25T10:00:00.123456Z"},
                          {"renewTime", "2026-11-25T10:00:00.123456Z"},
                          {"leaseTransitions", 0}}));
  // The leader renews retry_period later, without jitter.
  EXPECT_EQ(next, since_start(2s));
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started"}));
  EXPECT_EQ(a->stats().terms, 1u);
}

TEST_F(LeaderElectionTest, AValidLeaseOfAnotherIsLeftAloneWhateverItsTimestampsSay) {
  // A renewTime from long ago: only how long the record stays unchanged on
  // this candidate's own clock counts, never the holder's wall clock.
  leases_.write_spec(kLease, {{"holderIdentity", "b"},
                              {"leaseDurationSeconds", 15},
                              {"acquireTime", "1999-01-01T00:00:00.000000Z"},
                              {"renewTime", "1999-01-01T00:00:00.000000Z"},
                              {"leaseTransitions", 3}});
  auto& a = candidate("a");
  Clock::time_point next = a->step();
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a->leader(), "b");
  // A candidate retries after retry_period * (1 + 1.2 * 0.5).
  EXPECT_EQ(next, since_start(3200ms));
  while (next < since_start(15s)) {
    advance_to(next);
    next = a->step();
    EXPECT_FALSE(a->is_leader()) << "at " << (clock_->now() - start_).count();
  }
  EXPECT_EQ(leases_.holder(kLease), "b");
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new b"}));
  EXPECT_GT(a->stats().acquire_failures, 3u);
}

TEST_F(LeaderElectionTest, ALeaseUnchangedForItsDurationIsTakenAndCountsATransition) {
  leases_.write_spec(kLease, {{"holderIdentity", "b"},
                              {"leaseDurationSeconds", 15},
                              {"acquireTime", "2026-11-25T09:00:00.000000Z"},
                              {"renewTime", "2026-11-25T09:59:59.000000Z"},
                              {"leaseTransitions", 3}});
  auto& a = candidate("a");
  a->step();  // first seen at 0 s
  advance_to(since_start(15s) - 1us);
  a->step();
  EXPECT_FALSE(a->is_leader()) << "the record is not yet 15 s old on our clock";
  advance_to(since_start(15s));
  a->step();
  EXPECT_TRUE(a->is_leader());
  EXPECT_EQ(spec(), (json{{"holderIdentity", "a"},
                          {"leaseDurationSeconds", 15},
                          {"acquireTime", micro(15000ms)},
                          {"renewTime", micro(15000ms)},
                          {"leaseTransitions", 4}}));
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new b", "new a", "started"}));
}

TEST_F(LeaderElectionTest, ARenewalSeenByACandidateRestartsItsWait) {
  leases_.write_spec(kLease,
                     {{"holderIdentity", "b"}, {"leaseDurationSeconds", 15}, {"leaseTransitions", 0}});
  auto& a = candidate("a");
  a->step();  // seen at 0 s
  advance_to(since_start(10s));
  leases_.write_spec(kLease, {{"holderIdentity", "b"},
                              {"leaseDurationSeconds", 15},
                              {"renewTime", "2026-11-25T10:00:10.000000Z"},
                              {"leaseTransitions", 0}});
  a->step();  // the change seen at 10 s
  advance_to(since_start(24s));
  a->step();
  EXPECT_FALSE(a->is_leader()) << "15 s since the renewal was seen have not passed";
  advance_to(since_start(25s));
  a->step();
  EXPECT_TRUE(a->is_leader());
  EXPECT_EQ(spec()["leaseTransitions"], 1);
}

TEST_F(LeaderElectionTest, AReleasedLeaseIsTakenAtOnce) {
  leases_.write_spec(kLease, {{"holderIdentity", ""}, {"leaseDurationSeconds", 1}, {"leaseTransitions", 2}});
  auto& a = candidate("a");
  a->step();
  EXPECT_TRUE(a->is_leader());
  EXPECT_EQ(spec()["leaseTransitions"], 3);
  EXPECT_EQ(spec()["leaseDurationSeconds"], 15);
  EXPECT_EQ(spec()["acquireTime"], micro(0ms));
  // An empty holder is no leader: reported only once someone holds it.
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started"}));
}

TEST_F(LeaderElectionTest, AConflictOnTheTakeOverLosesTheRaceAndRetriesLater) {
  leases_.write_spec(kLease, {{"holderIdentity", ""}, {"leaseDurationSeconds", 1}, {"leaseTransitions", 0}});
  // Between a's GET and its PUT, b takes the Lease.
  leases_.set_before_write([&](const kube::HttpRequest&) -> std::optional<kube::HttpOutcome> {
    leases_.set_before_write({});
    leases_.write_spec(kLease,
                       {{"holderIdentity", "b"}, {"leaseDurationSeconds", 15}, {"leaseTransitions", 1}});
    return std::nullopt;
  });
  auto& a = candidate("a");
  const Clock::time_point next = a->step();
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(leases_.conflicts(), 1);
  EXPECT_EQ(leases_.holder(kLease), "b");
  EXPECT_NE(a->stats().last_error.find("another candidate wrote it first"), std::string::npos)
      << a->stats().last_error;
  EXPECT_EQ(next, since_start(3200ms));
  // The winner's Lease is now new to a: it waits the full duration.
  advance_to(next);
  a->step();
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new b"}));
}

TEST_F(LeaderElectionTest, AConflictOnTheCreationLosesTheRace) {
  // Between a's GET (404) and its POST, b creates the Lease.
  leases_.set_before_write([&](const kube::HttpRequest&) -> std::optional<kube::HttpOutcome> {
    leases_.set_before_write({});
    leases_.write_spec(kLease,
                       {{"holderIdentity", "b"}, {"leaseDurationSeconds", 15}, {"leaseTransitions", 0}});
    return std::nullopt;
  });
  auto& a = candidate("a");
  a->step();
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(leases_.holder(kLease), "b");
  EXPECT_EQ(leases_.conflicts(), 1);
  advance_to(since_start(4s));
  a->step();
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new b"}));
}

// ---- renewing -----------------------------------------------------------------------

TEST_F(LeaderElectionTest, TheLeaderRenewsEveryRetryPeriodWithTheResourceVersionItHolds) {
  auto& a = candidate("a");
  Clock::time_point next = a->step();
  for (int round = 1; round <= 3; ++round) {
    const std::string version = lease()["metadata"]["resourceVersion"];
    const std::size_t before = a.requests();
    advance_to(next);
    next = a->step();
    EXPECT_TRUE(a->is_leader());
    const auto requests = a.transport->requests();
    ASSERT_EQ(requests.size(), before + 1) << "one PUT, no GET, while nobody else writes";
    EXPECT_EQ(requests.back().method, "PUT");
    EXPECT_EQ(json::parse(requests.back().body)["metadata"]["resourceVersion"], version);
    EXPECT_EQ(spec()["renewTime"], micro(std::chrono::milliseconds(2000 * round)));
    EXPECT_EQ(spec()["acquireTime"], micro(0ms));
    EXPECT_EQ(spec()["leaseTransitions"], 0);
    EXPECT_EQ(next, since_start(std::chrono::seconds(2 * round + 2)));
  }
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started"}));
  EXPECT_EQ(a->stats().renew_failures, 0u);
}

TEST_F(LeaderElectionTest, FailedRenewalsWithinTheDeadlineKeepTheTerm) {
  auto& a = candidate("a");
  Clock::time_point next = a->step();  // the term lasts until 10 s
  leases_.set_unreachable(true);
  for (int round = 0; round < 3; ++round) {  // 2, 4 and 6 s: all fail
    advance_to(next);
    next = a->step();
    EXPECT_TRUE(a->is_leader());
  }
  leases_.set_unreachable(false);
  advance_to(next);
  a->step();  // 8 s: renewed, until 18 s
  advance_to(since_start(18s) - 1ns);
  EXPECT_TRUE(a->is_leader());
  EXPECT_EQ(a->stats().renew_failures, 3u);
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started"}));
  EXPECT_EQ(spec()["renewTime"], micro(8000ms));
  advance_to(since_start(18s));
  EXPECT_FALSE(a->is_leader());
}

TEST_F(LeaderElectionTest, ARenewalTheServerStoresAsNothingNewIsNoRenewal) {
  // A wall clock standing still writes the same renewTime: the server keeps
  // the object as it was, so candidates see no renewal, and neither may we.
  const auto frozen = wall_now();
  auto& a = candidate("a", {}, [&](auto& o) { o.wall_clock = [frozen] { return frozen; }; });
  Clock::time_point next = a->step();
  while (next < since_start(10s)) {
    advance_to(next);
    next = a->step();
  }
  EXPECT_GE(a->stats().renew_failures, 4u);
  EXPECT_NE(a->stats().last_error.find("stored nothing new"), std::string::npos) << a->stats().last_error;
  advance_to(since_start(10s));
  EXPECT_FALSE(a->is_leader());
}

TEST_F(LeaderElectionTest, TheTermEndsAtTheRenewDeadlineExactlyAndTheCandidateTriesAgain) {
  auto& a = candidate("a");
  Clock::time_point next = a->step();
  advance_to(next);
  next = a->step();  // renewed, sent at 2 s: the term lasts until 12 s
  leases_.set_unreachable(true);
  while (next < since_start(12s)) {
    advance_to(next);
    next = a->step();
  }
  EXPECT_EQ(a->stats().renew_failures, 4u);  // 4, 6, 8 and 10 s
  advance_to(since_start(12s) - 1ns);
  EXPECT_TRUE(a->is_leader());
  advance_to(since_start(12s));
  EXPECT_FALSE(a->is_leader()) << "at the deadline, before any thread noticed";
  EXPECT_EQ(a.events.count("stopped"), 0) << "step() reports it; it has not run yet";
  next = a->step();
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started", "stopped"}));
  // A candidate again: it retries with jitter, and takes the Lease back once
  // the server answers (the Lease still names it, so no transition).
  EXPECT_EQ(next, since_start(15200ms));
  leases_.set_unreachable(false);
  advance_to(next);
  a->step();
  EXPECT_TRUE(a->is_leader());
  EXPECT_EQ(spec()["leaseTransitions"], 0);
  EXPECT_EQ(spec()["acquireTime"], micro(0ms));
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started", "stopped", "started"}));
}

TEST_F(LeaderElectionTest, IsLeaderTurnsFalseAtTheDeadlineWhileARenewalHangs) {
  auto& a = candidate("a");
  Clock::time_point next = a->step();  // the term lasts until 10 s
  Gate renewal;
  leases_.set_before_write([&](const kube::HttpRequest&) -> std::optional<kube::HttpOutcome> {
    renewal.pass();
    return fail_with("timed out");
  });
  advance_to(next);
  std::thread stepping([&] { a->step(); });
  ASSERT_TRUE(renewal.await_arrivals(1));
  advance_to(since_start(10s) - 1ns);
  EXPECT_TRUE(a->is_leader());
  advance_to(since_start(10s));
  EXPECT_FALSE(a->is_leader()) << "the renewal still hangs, but the term is over";
  EXPECT_FALSE(a->stats().leader);
  EXPECT_NE(a->metrics().find("cdcguard_leader 0\n"), std::string::npos);
  renewal.open();
  stepping.join();
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started", "stopped"}));
  EXPECT_GE(a->stats().renew_failures, 1u);
}

TEST_F(LeaderElectionTest, AWriteAnsweredAfterTheDeadlineDoesNotExtendTheTerm) {
  auto& a = candidate("a");
  Clock::time_point next = a->step();
  // The renewal takes 11 s: it succeeds, but a term counted from when it was
  // sent would already be over.
  leases_.set_before_write([&](const kube::HttpRequest&) -> std::optional<kube::HttpOutcome> {
    leases_.set_before_write({});
    clock_->advance(11s);
    return std::nullopt;
  });
  advance_to(next);
  a->step();
  EXPECT_EQ(clock_->now(), since_start(13s));
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started", "stopped"}));
  EXPECT_EQ(a->stats().last_error, "the write took longer than the renew deadline");
}

TEST_F(LeaderElectionTest, ALeaderThatSeesAnotherHolderStopsAtOnce) {
  auto& a = candidate("a");
  Clock::time_point next = a->step();
  // Someone (a person, a broken peer) writes another holder into the Lease.
  leases_.write_spec(kLease,
                     {{"holderIdentity", "b"}, {"leaseDurationSeconds", 15}, {"leaseTransitions", 1}});
  advance_to(next);
  a->step();  // the renewal's 409, then the read shows b
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started", "new b", "stopped"}));
  EXPECT_EQ(a->stats().transitions_seen, 2u);
}

// ---- releasing ----------------------------------------------------------------------

TEST_F(LeaderElectionTest, ReleaseWritesAnEmptyHolderAndAnotherCandidateTakesItAtOnce) {
  auto& a = candidate("a");
  auto& b = candidate("b");
  a->step();
  advance_to(since_start(1s));
  b->step();
  EXPECT_FALSE(b->is_leader());

  advance_to(since_start(1500ms));
  EXPECT_TRUE(a->release());
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.events.all(), (std::vector<std::string>{"new a", "started", "stopped"}));
  EXPECT_EQ(spec(), (json{{"holderIdentity", ""},
                          {"leaseDurationSeconds", 1},
                          {"acquireTime", micro(1500ms)},
                          {"renewTime", micro(1500ms)},
                          {"leaseTransitions", 0}}));

  b->step();  // no time has passed
  EXPECT_TRUE(b->is_leader());
  EXPECT_EQ(spec()["holderIdentity"], "b");
  EXPECT_EQ(spec()["leaseTransitions"], 1);

  // Released for good: a no longer campaigns, and a second release writes nothing.
  const std::size_t before = a.requests();
  advance_to(since_start(30s));
  a->step();
  EXPECT_TRUE(a->release());
  EXPECT_EQ(a.requests(), before);
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.events.count("stopped"), 1);
}

TEST_F(LeaderElectionTest, ReleaseOfACandidateThatNeverLedWritesNothing) {
  leases_.write_spec(kLease, {{"holderIdentity", "b"}, {"leaseDurationSeconds", 15}});
  auto& a = candidate("a");
  a->step();
  const int writes = leases_.writes();
  EXPECT_TRUE(a->release());
  EXPECT_EQ(leases_.writes(), writes);
  EXPECT_EQ(leases_.holder(kLease), "b");
  EXPECT_EQ(a.events.count("stopped"), 0);
}

TEST_F(LeaderElectionTest, AReleaseThatMeetsAnotherWriteReReadsAndTriesAgain) {
  auto& a = candidate("a");
  a->step();
  // A renewal by a (one in flight when SIGTERM came) lands first.
  int writes = 0;
  leases_.set_before_write([&](const kube::HttpRequest&) -> std::optional<kube::HttpOutcome> {
    if (++writes == 1) {
      leases_.write_spec(kLease,
                         {{"holderIdentity", "a"}, {"leaseDurationSeconds", 15}, {"leaseTransitions", 0}});
    }
    return std::nullopt;
  });
  EXPECT_TRUE(a->release());
  EXPECT_EQ(writes, 2);
  EXPECT_EQ(leases_.conflicts(), 1);
  EXPECT_EQ(leases_.holder(kLease), "");
}

TEST_F(LeaderElectionTest, AReleaseThatCannotBeWrittenSaysSo) {
  auto& a = candidate("a");
  a->step();
  leases_.set_unreachable(true);
  EXPECT_FALSE(a->release());
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.events.count("stopped"), 1);
  EXPECT_FALSE(a->release()) << "the first answer, again";
}

// ---- two candidates ---------------------------------------------------------------

// Two candidates over one Lease, on one fake clock, with a seeded schedule of
// faults: requests that fail, answers lost after the write was applied, slow
// requests, and stretches where one candidate cannot reach the server at
// all. A slow request lets time pass in two parts, before the server applies
// it and before its answer arrives, and the other candidate takes its steps
// meanwhile (so it reads and writes the Lease while the first waits, as a
// real peer does). At every instant at which anything happens (each step,
// each request's start, landing and end) at most one of them leads, and
// leadership really moves between them.
TEST_F(LeaderElectionTest, TwoCandidatesNeverLeadAtTheSameInstant) {
  std::mt19937 random(20261125);
  const auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(random) < p; };
  const auto some_time = [&] { return std::chrono::milliseconds(random() % 12000); };
  std::array<Candidate*, 2> both{};
  std::array<Clock::time_point, 2> due{start_, start_ + 500ms};
  std::array<bool, 2> stepping{false, false};
  std::array<bool, 2> cut_off{false, false};
  int violations = 0;
  const auto check = [&](const char* where) {
    if (both[0] && both[1] && both[0]->elector->is_leader() && both[1]->elector->is_leader()) {
      ++violations;
      ADD_FAILURE() << "two leaders " << where << " at "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(clock_->now() - start_).count()
                    << " ms";
    }
  };
  std::function<void(std::size_t)> step_of = [&](std::size_t who) {
    stepping[who] = true;
    check("before a step");
    due[who] = both[who]->elector->step();
    stepping[who] = false;
    check("after a step");
  };
  // Time passes while `who` waits on a request; the other steps when due.
  const auto pass_time = [&](std::size_t who, Clock::duration how_long) {
    const Clock::time_point until = clock_->now() + how_long;
    const std::size_t other = 1 - who;
    while (!stepping[other] && due[other] <= until) {
      advance_to(due[other]);
      step_of(other);
    }
    advance_to(until);
  };
  const auto faulty = [&](std::size_t who) {
    return [&, who](const kube::HttpRequest& request) -> kube::HttpOutcome {
      check("when a request starts");
      if (cut_off[who] || chance(0.1)) return fail_with("connection refused");
      if (chance(0.15)) pass_time(who, some_time());
      kube::HttpOutcome outcome = leases_.handle(request);
      check("when a request lands");
      if (chance(0.05)) outcome = fail_with("timed out");  // applied, but the answer is lost
      if (chance(0.15)) pass_time(who, some_time());
      check("when a request ends");
      return outcome;
    };
  };
  auto& a = candidate("a", faulty(0),
                      [&](auto& o) { o.random_fraction = [&] { return chance(0.5) ? 0.3 : 0.9; }; });
  auto& b = candidate("b", faulty(1),
                      [&](auto& o) { o.random_fraction = [&] { return chance(0.5) ? 0.1 : 0.7; }; });
  both = {&a, &b};

  for (int round = 0; round < 5000; ++round) {
    // Now and then one of them loses the server for a while.
    if (round % 40 == 20) cut_off[random() % 2] = true;
    if (round % 40 == 32) cut_off = {false, false};
    const std::size_t who = due[0] <= due[1] ? 0 : 1;
    advance_to(due[who]);
    step_of(who);
  }
  EXPECT_EQ(violations, 0);
  EXPECT_GE(a->stats().terms, 20u) << "a led too seldom for the schedule to test much";
  EXPECT_GE(b->stats().terms, 20u) << "b led too seldom for the schedule to test much";
  EXPECT_GE(leases_.conflicts(), 20);
  EXPECT_GE(a->stats().renew_failures + b->stats().renew_failures, 100u);
}

// ---- the threads ----------------------------------------------------------------------

TEST_F(LeaderElectionTest, TheWatchdogEndsATermAtItsDeadlineWhileTheRenewalHangs) {
  auto& a = candidate("a");
  Gate renewal;
  std::atomic<bool> writes_fail{false};
  std::atomic<int> failed_writes{0};
  leases_.set_before_write([&](const kube::HttpRequest&) -> std::optional<kube::HttpOutcome> {
    if (!writes_fail) return std::nullopt;
    if (failed_writes++ == 0) renewal.pass();
    return fail_with("timed out");
  });
  a->start();
  ASSERT_TRUE(eventually([&] { return a->is_leader(); }));
  ASSERT_TRUE(clock_->await_waiting(2)) << "the loop and the watchdog wait";
  writes_fail = true;
  advance_to(since_start(2s));  // the loop wakes to renew, and hangs
  ASSERT_TRUE(renewal.await_arrivals(1));
  advance_to(since_start(10s));
  ASSERT_TRUE(eventually([&] { return a.events.count("stopped") == 1; }))
      << "the watchdog reports the end of the term while the renewal still hangs";
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(failed_writes, 1) << "the renewal has not returned";
  renewal.open();
  ASSERT_TRUE(eventually([&] { return a->stats().renew_failures >= 1; }));

  writes_fail = false;
  a->stop();
  EXPECT_EQ(leases_.holder(kLease), "") << "stop() released the Lease, which still named a";
  EXPECT_EQ(a.events.count("started"), a.events.count("stopped"));
}

TEST_F(LeaderElectionTest, StopReleasesAndEndsTheThreads) {
  auto& a = candidate("a");
  auto& b = candidate("b");
  a->start();
  ASSERT_TRUE(eventually([&] { return a->is_leader(); }));
  b->start();
  ASSERT_TRUE(eventually([&] { return b->leader() == "a"; }));
  EXPECT_FALSE(b->is_leader());
  a->stop();
  EXPECT_FALSE(a->is_leader());
  // b retries within 2 × 1.2 retry periods of fake time, and takes it.
  for (int i = 0; i < 10 && !b->is_leader(); ++i) {
    ASSERT_TRUE(clock_->await_waiting(2));
    clock_->advance(1s);
    eventually([&] { return b->is_leader(); }, std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(b->is_leader());
  EXPECT_EQ(b.events.count("started"), 1);
  a->stop();  // idempotent
  b->stop();
  EXPECT_EQ(leases_.holder(kLease), "");
}

// ---- over HTTPS --------------------------------------------------------------------

// The same election through KubeClient over HTTPS to the fake API server,
// which keeps Leases as the real one does: the bodies the elector sends are
// accepted there, and the Lease it leaves behind is the one a person reads.
class LeaderElectionOverHttps : public FakeClusterFixture {};

TEST_F(LeaderElectionOverHttps, OneOfTwoLeadsAndAReleaseHandsTheLeaseOver) {
  auto clock = std::make_shared<FakeClock>();
  const auto make = [&](kube::KubeClient& c, const std::string& identity) {
    kube::LeaderElectionOptions o;
    o.namespace_name = kRegistryNamespace;
    o.identity = identity;
    o.clock = clock;
    return std::make_unique<LeaderElector>(c, o);
  };
  auto client_a = client();
  auto client_b = client();
  auto a = make(*client_a, "replica-a_0001");
  auto b = make(*client_b, "replica-b_0002");
  a->step();
  b->step();
  EXPECT_TRUE(a->is_leader());
  EXPECT_FALSE(b->is_leader());
  EXPECT_EQ(b->leader(), "replica-a_0001");
  const auto stored = [&] {
    return api_->get("Lease", kRegistryNamespace, "cdc-guard-reconciler").value_or(json());
  };
  const json first = stored();
  EXPECT_EQ(first["spec"]["holderIdentity"], "replica-a_0001");
  EXPECT_EQ(first["spec"]["leaseDurationSeconds"], 15);

  clock->advance(2s);
  a->step();
  EXPECT_TRUE(a->is_leader());
  EXPECT_NE(stored()["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"]);
  EXPECT_NE(stored()["spec"]["renewTime"], first["spec"]["renewTime"]);

  EXPECT_TRUE(a->release());
  EXPECT_EQ(stored()["spec"]["holderIdentity"], "");
  EXPECT_EQ(stored()["spec"]["leaseDurationSeconds"], 1);
  b->step();
  EXPECT_TRUE(b->is_leader());
  EXPECT_EQ(stored()["spec"]["holderIdentity"], "replica-b_0002");
  EXPECT_EQ(stored()["spec"]["leaseTransitions"], 1);
  b->stop();
  EXPECT_EQ(stored()["spec"]["holderIdentity"], "");
}

// ---- options, identity, metrics ----------------------------------------------------

TEST_F(LeaderElectionTest, OptionsThatCouldMakeTwoLeadersAreRefused) {
  struct Case {
    const char* name;
    std::function<void(kube::LeaderElectionOptions&)> change;
  };
  const Case cases[] = {
      {"no namespace", [](auto& o) { o.namespace_name.clear(); }},
      {"no name", [](auto& o) { o.name.clear(); }},
      {"no identity", [](auto& o) { o.identity.clear(); }},
      {"a lease under a second", [](auto& o) { o.lease_duration = 900ms; }},
      {"renew deadline equal to the lease", [](auto& o) { o.renew_deadline = 15s; }},
      {"renew deadline past the whole seconds of the lease",
       [](auto& o) {
         o.lease_duration = 10900ms;
         o.renew_deadline = 10500ms;
       }},
      {"renew deadline within 1.2 retry periods", [](auto& o) { o.renew_deadline = 2400ms; }},
      {"no retry period", [](auto& o) { o.retry_period = 0ms; }},
  };
  kube::KubeClient client(kube::ClusterConfig{}, {}, std::make_unique<ScriptedTransport>());
  Events events;
  for (const auto& c : cases) {
    auto o = options("a", events);
    c.change(o);
    EXPECT_THROW((LeaderElector{client, o}), std::invalid_argument) << c.name;
  }
  EXPECT_NO_THROW((LeaderElector{client, options("a", events)})) << "client-go's defaults";
}

TEST(LeaderIdentity, IsThePodNameElseTheHostNamePlusARandomSuffix) {
  struct Case {
    const char* name;
    std::optional<std::string> pod;
    std::string hostname;
    std::string expected;
  };
  const Case cases[] = {
      {"the pod's name", "cdc-guard-7d9f-x2x", "node-1", "cdc-guard-7d9f-x2x_0000beef"},
      {"no POD_NAME: the host name", std::nullopt, "node-1", "node-1_0000beef"},
      {"an empty POD_NAME: the host name", "", "node-1", "node-1_0000beef"},
      {"neither", std::nullopt, "", "cdc-guard_0000beef"},
  };
  for (const auto& c : cases) {
    kube::IdentitySources sources;
    sources.env = [&](const char* name) -> std::optional<std::string> {
      EXPECT_STREQ(name, "POD_NAME");
      return c.pod;
    };
    sources.hostname = [&] { return c.hostname; };
    sources.random = [] { return 0xbeefu; };
    EXPECT_EQ(kube::leader_identity(sources), c.expected) << c.name;
  }
  // Without a given random source, two identities of one pod differ.
  kube::IdentitySources pod;
  pod.env = [](const char*) -> std::optional<std::string> { return "pod-0"; };
  const std::string first = kube::leader_identity(pod);
  EXPECT_EQ(first.size(), std::string("pod-0_").size() + 8);
  std::string second = kube::leader_identity(pod);
  for (int i = 0; i < 3 && second == first; ++i) second = kube::leader_identity(pod);
  EXPECT_NE(first, second);
}

TEST_F(LeaderElectionTest, MetricsShowTheGaugeAndTheCounters) {
  auto& a = candidate("a");
  EXPECT_NE(a->metrics().find("# TYPE cdcguard_leader gauge\ncdcguard_leader 0\n"), std::string::npos);
  Clock::time_point next = a->step();
  leases_.set_unreachable(true);
  advance_to(next);
  a->step();
  const std::string text = a->metrics();
  EXPECT_NE(text.find("\ncdcguard_leader 1\n"), std::string::npos) << text;
  EXPECT_NE(
      text.find("# TYPE cdcguard_leader_transitions_total counter\ncdcguard_leader_transitions_total 1\n"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "# TYPE cdcguard_leader_renew_failures_total counter\ncdcguard_leader_renew_failures_total 1\n"),
      std::string::npos)
      << text;
}

}  // namespace
}  // namespace cdcguard::testing_support
