#include "cdcguard/kube/cluster_runtime.hpp"

#include <algorithm>
#include <utility>

#include "cdcguard/store/registry_store.hpp"

namespace cdcguard::kube {

ClientOptions claims_client_options() {
  ClientOptions claims;
  claims.request_timeout = std::chrono::milliseconds(1500);
  claims.max_attempts = 2;
  claims.backoff_max = std::chrono::milliseconds(200);
  return claims;
}

ClusterRuntime::ClusterRuntime(const ClusterConfig& cluster, Options options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : steady_monotonic_clock()),
      client_(std::make_unique<KubeClient>(cluster, options_.client)),
      claims_client_(std::make_unique<KubeClient>(cluster, options_.claims_client)) {
  if (!options_.now)
    options_.now = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
  store_ = std::make_unique<ConfigMapRegistryStore>(*claims_client_, options_.registry_namespace,
                                                    options_.registry_name, options_.store);
  ClusterCache::Options cache_options{options_.namespaces, options_.cache_informer, [this] { wake(); }};
  cache_ = std::make_unique<ClusterCache>(*client_, std::move(cache_options));
  if (options_.leader_election) {
    // Its own client: a renewal must not queue behind a slow LIST or watch.
    lease_client_ = std::make_unique<KubeClient>(cluster, options_.claims_client);
    LeaderElectionOptions lease = options_.lease;
    if (lease.namespace_name.empty()) lease.namespace_name = options_.registry_namespace;
    if (!lease.clock) lease.clock = clock_;
    const auto told = lease.on_started_leading;
    lease.on_started_leading = [this, told] {
      if (told) told();
      if (options_.on_leadership) options_.on_leadership(true);
      wake();  // a new leader passes at once
    };
    const auto stopped = lease.on_stopped_leading;
    lease.on_stopped_leading = [this, stopped] {
      {
        // The next leader reports afresh; this replica's gauges and
        // Events are no longer its to keep.
        std::lock_guard audit_guard(audit_mutex_);
        throttle_.clear();
        violations_.clear();
        last_audit_.reset();
      }
      if (stopped) stopped();
      if (options_.on_leadership) options_.on_leadership(false);
    };
    elector_ = std::make_unique<LeaderElector>(*lease_client_, std::move(lease));
  }
  throttle_ = AuditEventThrottle(options_.audit_event_interval);
  if (options_.audit_events) {
    events_ = options_.event_recorder;
    if (!events_) {
      events_ = std::make_shared<KubeEventRecorder>(
          *claims_client_, options_.reporting_instance,
          [this](const std::string& /*kind: both are kafka.strimzi.io*/) {
            const std::string version = cache_->strimzi_version();
            return "kafka.strimzi.io/" + (version.empty() ? std::string("v1") : version);
          });
    }
  }
}

ClusterRuntime::~ClusterRuntime() {
  stop();
}

void ClusterRuntime::start() {
  store_->start();
  cache_->start();
  std::lock_guard guard(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  if (elector_) elector_->start();
  loop_ = std::thread([this] { reconcile_loop(); });
}

void ClusterRuntime::stop_reconciling() {
  {
    std::lock_guard guard(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // Released at once, without waiting for a pass in flight (it may wait up
  // to the store's deadline): that pass asks leading() right before its
  // write, and from here on the answer is no. So readiness can go off
  // straight after.
  if (elector_) elector_->release();
}

void ClusterRuntime::stop() {
  stop_reconciling();
  if (elector_) elector_->stop();
  if (loop_.joinable()) loop_.join();
  client_->stop_streams();
  claims_client_->stop_streams();
  if (lease_client_) lease_client_->stop_streams();
  cache_->stop();
  store_->stop();
}

void ClusterRuntime::wake() {
  {
    std::lock_guard guard(mutex_);
    changed_ = true;
  }
  wake_.notify_all();
}

std::string ClusterRuntime::not_ready() const {
  if (!store_->synced()) return store_->status();
  if (!cache_->synced()) return cache_->status();
  // Split mode: a policy and state that do not form a registry judge nothing.
  return store_->union_problem();
}

bool ClusterRuntime::leading() const {
  return !elector_ || elector_->is_leader();
}

std::optional<ReconcileReport> ClusterRuntime::reconcile_now() {
  // Before every informer has listed, every connector would look deleted.
  if (!leading() || !store_->synced() || !cache_->synced()) return std::nullopt;
  const auto view = cache_->snapshot();
  const TimePoint now = options_.now();
  ReconcileOptions reconcile_options;
  reconcile_options.cluster_name = options_.cluster_name;
  reconcile_options.namespaces = options_.namespaces;
  try {
    // A dry run on the cached registry first: most passes change nothing and
    // then queue nothing for the writer.
    Registry copy = store_->snapshot()->registry;
    ReconcileReport report = reconcile(copy, view->connectors, now, reconcile_options);
    if (report.changed()) {
      bool lost = false;
      store_->update([&](Registry& registry) {
        // Asked again right before the PUT: a replica whose lease ran out
        // while it waited for the writer never writes.
        if (!leading()) {
          lost = true;
          return false;
        }
        report = reconcile(registry, view->connectors, now, reconcile_options);
        return report.changed();
      });
      if (lost) return std::nullopt;
    }
    {
      std::lock_guard guard(mutex_);
      ++counters_.passes;
      const auto add = [&](long long& counter, ReconcileStep step) {
        counter += static_cast<long long>(report.count(step));
      };
      add(counters_.confirmed, ReconcileStep::Confirm);
      add(counters_.expired, ReconcileStep::Expire);
      add(counters_.decommissioned, ReconcileStep::Decommission);
      add(counters_.adopted, ReconcileStep::Adopt);
      add(counters_.owned, ReconcileStep::Own);
      add(counters_.refreshed, ReconcileStep::Refresh);
      add(counters_.pruned, ReconcileStep::Prune);
      counters_.not_adopted = static_cast<long long>(report.not_adopted.size());
      counters_.last_success =
          std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    }
    if ((report.changed() || !report.not_adopted.empty()) && options_.on_reconciled)
      options_.on_reconciled(report);
    bool audit_due = false;
    {
      std::lock_guard audit_guard(audit_mutex_);
      audit_due = !last_audit_ || clock_->now() - *last_audit_ >= options_.audit_period;
    }
    if (audit_due) audit_now();
    return report;
  } catch (const std::exception& e) {
    // The store could not be read or written (StoreError), or a bug: the
    // pass is lost, the process and the next pass are not.
    {
      std::lock_guard guard(mutex_);
      ++counters_.failures;
    }
    if (options_.on_reconcile_error) options_.on_reconcile_error(e.what());
    return std::nullopt;
  }
}

std::optional<CheckReport> ClusterRuntime::audit_now() {
  if (!leading() || !store_->synced() || !cache_->synced()) return std::nullopt;
  // One audit at a time (the loop's and a caller's): the second must see
  // what the first sent, or the throttle would let an Event out twice.
  std::lock_guard one_at_a_time(audit_run_mutex_);
  const auto view = cache_->snapshot();
  const auto registry = store_->snapshot();
  const TimePoint now = options_.now();
  // Split mode with a policy and state that do not form a registry: nothing to judge against.
  if (!store_->union_problem().empty()) return std::nullopt;
  CheckReport report = audit_cluster(*view, registry->registry, now);
  std::vector<AuditEvent> due;
  {
    std::lock_guard audit_guard(audit_mutex_);
    last_audit_ = clock_->now();
    ++audits_;
    violations_ = violations_by_rule(report.violations);
    if (events_) due = throttle_.due(report.violations, now);
  }
  send_events(due, *view, now);
  if (options_.on_audited) options_.on_audited(report);
  return report;
}

// Without audit_mutex_ held while a request is out, so a /metrics scrape
// never waits for the API server.
void ClusterRuntime::send_events(std::vector<AuditEvent>& due, const ClusterView& view, TimePoint now) {
  if (due.size() > options_.max_events_per_audit)
    due.resize(options_.max_events_per_audit);  // the rest next time
  for (auto& event : due) {
    if (!leading()) return;
    if (event.object_kind == "KafkaConnector") {
      if (const auto* facts = view.connectors.find(event.namespace_name + "/" + event.object_name))
        event.object_uid = facts->uid;
    }
    try {
      events_->record(event, now);
      std::lock_guard audit_guard(audit_mutex_);
      throttle_.sent(event, now);  // a no-op if leadership was lost (and the throttle cleared) meanwhile
      ++events_sent_;
    } catch (const std::exception& e) {
      {
        std::lock_guard audit_guard(audit_mutex_);
        ++event_failures_;
      }
      if (options_.on_event_error) options_.on_event_error(e.what());
    }
  }
}

// Passes on every cache change (at most one per min_pass_interval) and every
// resync_period; a failed pass is tried again on the next of either.
void ClusterRuntime::reconcile_loop() {
  std::unique_lock lock(mutex_);
  auto next_resync = clock_->now();  // the first pass as soon as it can run
  auto earliest = clock_->now();
  while (!stopping_) {
    if (changed_) {
      clock_->wait_until(lock, wake_, earliest, [this] { return stopping_; });
      if (stopping_) break;
      if (clock_->now() < earliest) continue;
    } else {
      clock_->wait_until(lock, wake_, next_resync, [this] { return stopping_ || changed_; });
      if (stopping_) break;
      if (!changed_ && clock_->now() < next_resync) continue;
      if (changed_ && clock_->now() < earliest) continue;
    }
    changed_ = false;
    lock.unlock();
    const bool ran = reconcile_now().has_value();
    lock.lock();
    earliest = clock_->now() + options_.min_pass_interval;
    // Not leading, not synced or not written: try again soon rather than a
    // whole resync period later.
    next_resync = clock_->now() +
                  (ran ? options_.resync_period : std::min(options_.resync_period, options_.retry_interval));
  }
}

std::string ClusterRuntime::metrics() const {
  const auto stats = store_->stats();
  const auto view = cache_->snapshot();
  std::string out;
  const auto metric = [&](const char* name, const char* type, const char* help, long long value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("cdcguard_registry_claim_changes_total", "counter",
         "Registry changes (claims, confirmations) handed to the ConfigMap writer.", stats.changes);
  metric("cdcguard_registry_write_batches_total", "counter", "Batches of changes the ConfigMap writer took.",
         stats.batches);
  metric("cdcguard_registry_puts_total", "counter", "PUTs of the registry ConfigMap.", stats.puts);
  metric("cdcguard_registry_conflicts_total", "counter",
         "PUTs answered 409 Conflict (another replica wrote first).", stats.conflicts);
  metric("cdcguard_cluster_cache_synced", "gauge",
         "1 when every informer has listed once and the registry ConfigMap was read.",
         cache_->synced() && store_->synced() ? 1 : 0);
  metric("cdcguard_cluster_connectors", "gauge", "KafkaConnectors in the cluster cache.",
         static_cast<long long>(view->connectors.size()));
  metric("cdcguard_cluster_connect_clusters", "gauge", "KafkaConnects in the cluster cache.",
         static_cast<long long>(view->connect_clusters.size()));
  // With an election, the elector's metrics (below) say whether this replica leads.
  if (!elector_)
    metric("cdcguard_leader", "gauge", "1 while this replica reconciles (always: leader election is off).",
           1);
  Counters c;
  {
    std::lock_guard guard(mutex_);
    c = counters_;
  }
  metric("cdcguard_reconcile_passes_total", "counter", "Reconciliation passes that ran to the end.",
         c.passes);
  metric("cdcguard_reconcile_failures_total", "counter",
         "Reconciliation passes that could not write what they changed.", c.failures);
  out +=
      "# HELP cdcguard_reconcile_changes_total Registry entries the reconciler changed, by kind.\n"
      "# TYPE cdcguard_reconcile_changes_total counter\n";
  for (const auto& [kind, value] : {std::pair<const char*, long long>{"confirmed", c.confirmed},
                                    {"expired", c.expired},
                                    {"decommissioned", c.decommissioned},
                                    {"adopted", c.adopted},
                                    {"owned", c.owned},
                                    {"refreshed", c.refreshed},
                                    {"pruned", c.pruned}}) {
    out += std::string("cdcguard_reconcile_changes_total{kind=\"") + kind + "\"} " + std::to_string(value) +
           "\n";
  }
  metric("cdcguard_reconcile_not_adopted", "gauge",
         "Connectors the last pass saw with an id it could not adopt (held by another connector, reserved or "
         "embargoed).",
         c.not_adopted);
  metric("cdcguard_reconcile_last_success_timestamp_seconds", "gauge",
         "Unix time of the last pass that ran and wrote what it changed (0: none yet).", c.last_success);
  {
    std::lock_guard audit_guard(audit_mutex_);
    metric("cdcguard_audit_runs_total", "counter",
           "Audits (the rules over every cached connector) this replica ran while leading.", audits_);
    metric("cdcguard_audit_events_total", "counter", "Warning Events the audit wrote (new or repeated).",
           events_sent_);
    metric("cdcguard_audit_event_failures_total", "counter",
           "Warning Events the API server did not take (tried again on the next audit).", event_failures_);
    if (!violations_.empty()) {
      out +=
          "# HELP cdcguard_violations Violations the last audit found among the running connectors, by rule "
          "(only the leader reports them).\n"
          "# TYPE cdcguard_violations gauge\n";
      for (const auto& [rule, count] : violations_)
        out += "cdcguard_violations{rule=\"" + rule + "\"} " + std::to_string(count) + "\n";
    }
  }
  if (elector_) out += elector_->metrics();
  return out;
}

}  // namespace cdcguard::kube
