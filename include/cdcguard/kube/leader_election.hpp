#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/monotonic_clock.hpp"

// Leader election on a coordination.k8s.io/v1 Lease, the way client-go's
// tools/leaderelection does it with a LeaseLock, so that one replica of
// several reconciles (DESIGN.md "The reconciler"):
//   - a candidate GETs the Lease; a missing one is created (POST) naming it; one
//     held by another is taken (PUT with the resourceVersion read, so of two
//     candidates only one wins) only once its record has stayed unchanged for
//     the record's leaseDurationSeconds *as seen on this replica's monotonic
//     clock*: the holder's timestamps are never compared with ours, so skewed
//     wall clocks cannot make two leaders;
//   - the leader renews every retry_period (PUT renewTime with the
//     resourceVersion); when no renewal has succeeded for renew_deadline since
//     the last good one, it stops leading at once, even while a request
//     hangs, and becomes a candidate again. renew_deadline < leaseDuration
//     leaves the difference as the margin between "I stop" and "another may
//     start";
//   - release() hands the Lease over (empty holderIdentity, leaseDurationSeconds
//     1), as client-go's ReleaseOnCancel, so another candidate takes it at once.
//
// RBAC: get, create and update on leases.coordination.k8s.io in the Lease's
// namespace (create can be dropped when the Lease is made beforehand; get and
// update can be narrowed by resourceNames to the Lease).
namespace cdcguard::kube {

struct LeaderElectionOptions {
  std::string namespace_name;
  std::string name = "cdc-guard-reconciler";
  std::string identity;  // this candidate's holderIdentity; see leader_identity()

  // client-go's defaults. Must hold: retry_period * 1.2 < renew_deadline <
  // lease_duration (in whole seconds, as the Lease records it).
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};

  // Every wait, deadline and observation; null: the steady clock.
  std::shared_ptr<MonotonicClock> clock;
  // acquireTime and renewTime written into the Lease (for people and other
  // tools: the election itself never reads them); null: the system clock.
  std::function<std::chrono::system_clock::time_point()> wall_clock;
  // A number in [0, 1) for the jitter of a candidate's retries (client-go
  // waits retry_period * (1 + 1.2 * it)); null: a random one.
  std::function<double()> random_fraction;

  // Called from the elector's threads (on_stopped_leading also from
  // release()'s caller), one at a time and in order, without its lock held
  // (they may call is_leader(), leader(), stats()), but never release() or
  // stop(). They must return quickly: a slow one delays the next renewal.
  // on_started_leading and on_stopped_leading alternate, starting with
  // on_started_leading.
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  // A holder other than the last one seen (the first one seen included);
  // never called for an empty holder (a released Lease).
  std::function<void(const std::string& identity)> on_new_leader;
  // One line on what happened: became leader, stopped leading and why, a
  // request that failed, a release. May be called from several threads at
  // once (spdlog's loggers are thread-safe).
  std::function<void(const std::string& message)> log;
};

struct LeaderElectionStats {
  bool leader = false;
  std::string holder;                  // the holderIdentity last seen ("" before any, or released)
  std::uint64_t terms = 0;             // times this candidate became leader
  std::uint64_t transitions_seen = 0;  // on_new_leader calls: holder changes seen, the first included
  std::uint64_t renew_failures = 0;    // renewal attempts by the leader that failed
  std::uint64_t acquire_failures =
      0;                   // attempts by a candidate that failed (the Lease held by another included)
  std::string last_error;  // why the last attempt failed ("" after a success)
};

class LeaderElector {
 public:
  // Throws std::invalid_argument when the options break the rules above, or
  // the namespace, name or identity is empty. `client` must outlive the elector.
  LeaderElector(KubeClient& client, LeaderElectionOptions options);
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Runs the election in the background: one thread acquires and renews
  // (step() in a loop), one ends a term at its deadline even while the first
  // is stuck in a request. An elector runs one candidacy: after release() or
  // stop() it does not start again.
  void start();

  // Leads now: a term has begun and `now < last successful renewal +
  // renew_deadline` on the monotonic clock, where a renewal counts from when
  // its request was sent (the server applied it no earlier, so no other
  // candidate can take over before then + lease duration). Thread-safe and
  // cheap; check it just before acting as the leader.
  bool is_leader() const;
  // The holderIdentity last seen.
  std::string leader() const;
  const std::string& identity() const { return options_.identity; }
  LeaderElectionStats stats() const;
  // Prometheus text: cdcguard_leader (gauge, 0 or 1), and the counters
  // cdcguard_leader_transitions_total, cdcguard_leader_renew_failures_total.
  std::string metrics() const;

  // Ends the candidacy for good and, when the Lease names this elector, writes
  // it released (holderIdentity "", leaseDurationSeconds 1, acquireTime and
  // renewTime now, leaseTransitions kept), so that another candidate takes it
  // at its next try. Stops leading first (on_stopped_leading), so nothing acts
  // on the Lease once it is given up. Does not wait for the election thread
  // (it may be in a request); a renewal that lands meanwhile is answered by a
  // 409 for one side, and the release is retried after a re-read. Returns
  // true when the Lease no longer names this elector (released now, or it
  // never did), false when the release could not be written (the Lease then
  // expires after its duration). Idempotent: later calls return the first
  // answer. Call it on SIGTERM before anything else.
  bool release();
  // release(), then waits for the threads to end (a request in flight ends
  // first, at the latest by the client's timeout). Idempotent.
  void stop();

  // One round of the election, as the thread runs it: ends a term past its
  // deadline, then tries to acquire (a candidate) or renew (the leader) once.
  // Returns when the next round is due (retry_period later for the leader,
  // retry_period jittered for a candidate). Public so that tests drive the
  // election round by round on a fake clock; never call it while start()'s
  // thread runs.
  MonotonicClock::time_point step();

 private:
  struct Attempt;
  Attempt try_acquire_or_renew(bool leading);
  Attempt write(std::string_view method, const std::string& path, nlohmann::json object, bool leading);
  void observe(const nlohmann::json& lease);
  void end_term_if_due();
  bool write_release(nlohmann::json lease);
  void watch_deadline();
  void run();
  void note(const std::string& message);
  std::string lease_path() const;
  std::string collection_path() const;

  KubeClient& client_;
  const LeaderElectionOptions options_;
  const std::shared_ptr<MonotonicClock> clock_;
  const int lease_seconds_;

  // Lock order: release_mutex_, callback_mutex_, mutex_. Callbacks run under
  // callback_mutex_ (taken before mutex_ and held from a decision until its
  // callback returned), so that they come one at a time and in the order of
  // the decisions they report; no lock is held across a request but
  // release_mutex_, which only makes a second release() wait for the first.
  std::mutex release_mutex_;
  std::mutex callback_mutex_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable_any changed_;
  std::optional<nlohmann::json> lease_;  // the Lease as last read or written
  nlohmann::json observed_spec_;         // its spec and version, and when either last changed on our clock
  std::string observed_version_;
  MonotonicClock::time_point observed_at_{};
  std::string reported_holder_;
  bool leading_ = false;
  MonotonicClock::time_point valid_until_{};  // of the current term
  std::uint64_t term_ = 0;                    // bumped when a term begins or its deadline moves
  bool released_ = false;
  std::optional<bool> release_result_;
  LeaderElectionStats stats_;

  std::thread worker_;
  std::thread watchdog_;
};

// Where a holder identity comes from: the pod's name, else the host name.
struct IdentitySources {
  std::function<std::optional<std::string>(const char* name)> env;  // null: std::getenv
  std::function<std::string()> hostname;                            // null: gethostname()
  std::function<std::uint32_t()> random;                            // null: std::random_device
};
// POD_NAME (else the host name) plus "_" and 8 random hex digits, so that two
// processes never share an identity (a StatefulSet pod recreated under its
// name while the old one still terminates, two runs on one host): each would
// take the other's term for its own and both would lead.
std::string leader_identity(const IdentitySources& sources = {});

}  // namespace cdcguard::kube
