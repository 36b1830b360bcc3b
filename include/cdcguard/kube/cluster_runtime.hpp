#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cdcguard/kube/cluster_cache.hpp"
#include "cdcguard/kube/configmap_registry_store.hpp"
#include "cdcguard/kube/event_recorder.hpp"
#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/leader_election.hpp"
#include "cdcguard/kube/monotonic_clock.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/policy/audit.hpp"
#include "cdcguard/policy/reconciler.hpp"

// Everything cluster mode runs besides the webhook: the API clients, the
// registry ConfigMap store, the cluster cache, the leader election and the
// reconciler (DESIGN.md "The reconciler"): one replica, elected on a Lease,
// passes over the registry on every change the cache sees and every
// resync_period, and writes what the pass changed through the store's single
// writer, in the same batches as the claims.
namespace cdcguard::kube {

// At most about 3 s for one PUT with its retry, the cache's LISTs the default.
ClientOptions claims_client_options();

class ClusterRuntime {
 public:
  struct Options {
    std::string registry_namespace;
    std::string registry_name;
    std::vector<std::string> namespaces;  // watched for connectors; empty: all
    // The cache's LISTs and watches.
    ClientOptions client;
    // Claims are written inside an admission the API server abandons after
    // its 5 s webhook timeout: their requests get a shorter leash (at most
    // about 3 s for one PUT with its retry).
    ClientOptions claims_client = claims_client_options();
    ConfigMapRegistryStore::Options store;
    Informer::Options cache_informer;
    // The reconciler: this cluster's name in the registry, a pass at least
    // this often, and at most one pass per min_pass_interval however often
    // the cache changes (Strimzi rewrites status all the time).
    std::string cluster_name = "default";
    std::chrono::milliseconds resync_period{60000};
    std::chrono::milliseconds min_pass_interval{1000};
    // After a pass that could not run or write (not leading, not synced, the
    // API server down): the next try.
    std::chrono::milliseconds retry_interval{2000};
    // Leader election; disabled: this replica reconciles alone.
    bool leader_election = true;
    LeaderElectionOptions lease;  // namespace, name, identity, timings; its clock: `clock` unless set
    // Paces the reconciler (and the election unless lease.clock is set); null: the steady clock.
    std::shared_ptr<MonotonicClock> clock;
    // Calendar time, for expiries and decommission dates; null: the system clock, in seconds.
    std::function<TimePoint()> now;
    // Told what a pass changed (only when it changed something or found a
    // connector it could not adopt), why a pass could not write, and when
    // this replica starts or stops leading.
    std::function<void(const ReconcileReport&)> on_reconciled;
    std::function<void(const std::string& error)> on_reconcile_error;
    std::function<void(bool leading)> on_leadership;

    // The audit (the leader, after a pass): the rules over every connector
    // the cache holds, at most once per audit_period; its counts by rule
    // are the cdcguard_violations gauges. Warning Events on the objects at
    // fault, at most one per object and rule an audit_event_interval, and at
    // most max_events_per_audit per audit (the rest follow on the next).
    std::chrono::milliseconds audit_period{60000};
    bool audit_events = true;
    std::chrono::seconds audit_event_interval{3600};
    std::size_t max_events_per_audit = 100;
    std::string reporting_instance;                 // the Events' reportingInstance: the pod's name
    std::shared_ptr<EventRecorder> event_recorder;  // null: events.k8s.io/v1 through the API client
    std::function<void(const CheckReport&)> on_audited;
    std::function<void(const std::string& error)> on_event_error;
  };

  // Throws when the clients cannot be made from `cluster` (e.g. an unreadable CA).
  ClusterRuntime(const ClusterConfig& cluster, Options options);
  ~ClusterRuntime();
  ClusterRuntime(const ClusterRuntime&) = delete;
  ClusterRuntime& operator=(const ClusterRuntime&) = delete;

  // The store's and the cache's informers, the election, then the reconciler.
  void start();
  // SIGTERM's first step: the reconciler stops and the Lease is released, so
  // another replica takes over at once; admissions go on. Returns once the
  // release is written (or failed), without waiting for a pass in flight,
  // which writes nothing from then on; stop() waits for it. Idempotent.
  void stop_reconciling();
  // Idempotent. Stops reconciling, then the watches: an informer blocked in
  // a watch would otherwise wait out its read timeout.
  void stop();

  // "" when the registry ConfigMap was read and every informer synced (in
  // split mode: and the policy and state form a registry); else why not.
  std::string not_ready() const;
  // Whether this replica reconciles now (always, without leader election).
  bool leading() const;
  // One reconciliation pass, if this replica leads and the registry and the
  // cache are synced (what the loop does); nullopt when it did not run or
  // could not write.
  std::optional<ReconcileReport> reconcile_now();
  // The audit, if this replica leads and the registry and the cache are
  // synced, whether or not audit_period has passed; sends the Events due.
  std::optional<CheckReport> audit_now();

  // The claim writer's, the cluster cache's, the election's and the
  // reconciler's counters, in Prometheus text.
  std::string metrics() const;

  ConfigMapRegistryStore& store() { return *store_; }
  ClusterCache& cache() { return *cache_; }
  const KubeClient& client() const { return *client_; }
  // The kafka.strimzi.io version in use ("" before discovery).
  std::string strimzi_version() const { return cache_->strimzi_version(); }

 private:
  void reconcile_loop();
  void wake();
  void send_events(std::vector<AuditEvent>& due, const ClusterView& view, TimePoint now);

  Options options_;
  std::shared_ptr<MonotonicClock> clock_;
  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<KubeClient> claims_client_;
  std::unique_ptr<KubeClient> lease_client_;
  std::unique_ptr<ConfigMapRegistryStore> store_;
  std::unique_ptr<ClusterCache> cache_;
  std::unique_ptr<LeaderElector> elector_;  // null without leader election
  std::shared_ptr<EventRecorder> events_;   // null when audit_events is off

  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  bool stopping_ = false;  // stop_reconciling() was called
  bool started_ = false;
  bool changed_ = false;  // the cache changed since the last pass
  std::thread loop_;

  // The reconciler's counters (guarded by mutex_).
  struct Counters {
    long long passes = 0;
    long long failures = 0;
    long long confirmed = 0, expired = 0, decommissioned = 0, adopted = 0, owned = 0, refreshed = 0,
              pruned = 0;
    long long not_adopted = 0;   // in the last pass
    long long last_success = 0;  // Unix seconds of the last pass that ran and wrote what it changed
  } counters_;

  // The audit's state, guarded by audit_mutex_ (never taken with mutex_,
  // never held while a request is out).
  mutable std::mutex audit_mutex_;
  std::mutex audit_run_mutex_;  // held through audit_now(): one audit at a time
  AuditEventThrottle throttle_;
  std::map<std::string, std::size_t> violations_;  // by rule, from the last audit; empty: none yet
  std::optional<std::chrono::steady_clock::time_point> last_audit_;
  long long audits_ = 0;
  long long events_sent_ = 0;
  long long event_failures_ = 0;
};

}  // namespace cdcguard::kube
