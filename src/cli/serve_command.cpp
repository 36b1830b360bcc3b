#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cdcguard/kube/cluster_runtime.hpp"
#include "cdcguard/kube/kube_config.hpp"
#include "cdcguard/server/event_log.hpp"
#include "cdcguard/server/webhook_server.hpp"
#include "cdcguard/store/file_registry_store.hpp"
#include "cdcguard/version.hpp"
#include "cli/commands.hpp"
#include "cli/serve_config.hpp"

namespace cdcguard::cli {
namespace {

// Settings of the process itself, before any thread starts.
void prepare_process(server::ServerOptions& options, server::EventLog& log) {
  // Large request bodies are freed back to the system at once: glibc would
  // otherwise raise its mmap threshold after the first free and keep every
  // later body in the heap, so RSS stayed at the peak of a burst.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  // Each open connection is a descriptor: take what the hard limit allows, and
  // keep the cap (two ports, plus room for files and the API server) within it.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
      getrlimit(RLIMIT_NOFILE, &files);
    }
    const rlim_t reserve = 256;
    if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < 2 * options.max_connections + reserve) {
      const std::size_t fitting = files.rlim_cur > 2 * 64 + reserve ? (files.rlim_cur - reserve) / 2 : 64;
      log.warn("--max-connections lowered to fit the open-file limit",
               {server::LogField::num("maxConnections", static_cast<long long>(fitting)),
                server::LogField::num("openFileLimit", static_cast<long long>(files.rlim_cur))});
      options.max_connections = fitting;
    }
  }
}

// Standalone mode: the registry file, read once to fail early. Null (logged
// and told on stderr) when it cannot be read.
std::unique_ptr<RegistryStore> open_registry_file(const std::string& path, server::EventLog& log,
                                                  std::ostream& err) {
  auto file_store = std::make_unique<FileRegistryStore>(path);
  try {
    const auto snapshot = file_store->snapshot();
    log.info("registry loaded",
             {{"file", path},
              server::LogField::num("entries", static_cast<long long>(snapshot->registry.entries.size())),
              server::LogField::flag("autoAssign", snapshot->registry.rules.auto_assign)});
  } catch (const StoreError& e) {
    log.error("cannot start: the registry cannot be read", {{"error", e.what()}});
    err << "cdc-guard serve: " << e.what() << "\n";
    return nullptr;
  }
  return file_store;
}

// Cluster mode: clients, registry ConfigMap store, cluster cache and claim
// confirmation, wired into the webhook's options. Null (logged and told on
// stderr) without a usable cluster configuration.
std::unique_ptr<kube::ClusterRuntime> open_cluster(const ServeConfig& config, server::ServerOptions& options,
                                                   server::EventLog& log, std::ostream& err) {
  kube::ClusterRuntime::Options runtime_options;
  runtime_options.registry_namespace = config.configmap_namespace;
  runtime_options.registry_name = config.configmap_name;
  if (config.split_mode()) {
    runtime_options.store.policy = kube::ConfigMapName{config.policy_namespace, config.policy_name};
    runtime_options.store.on_warning = [&log](const std::string& message) {
      log.warn("registry policy and state", {{"reason", message}});
    };
  }
  runtime_options.namespaces = config.namespaces;
  runtime_options.cluster_name = config.cluster_name;
  runtime_options.resync_period = config.resync_period;
  runtime_options.audit_period = config.audit_period;
  runtime_options.audit_events = config.audit_events;
  runtime_options.leader_election = config.leader_election;
  runtime_options.lease.namespace_name = config.lease_namespace;
  runtime_options.lease.name = config.lease_name;
  runtime_options.lease.identity = kube::leader_identity();
  runtime_options.lease.lease_duration = config.lease_duration;
  runtime_options.lease.renew_deadline = config.renew_deadline;
  runtime_options.lease.retry_period = config.retry_period;
  runtime_options.lease.log = [&log](const std::string& message) {
    log.info("leader election", {{"event", message}});
  };
  // The connectors it could not adopt, as last logged: told again only when they change.
  auto reported = std::make_shared<std::set<std::string>>();
  runtime_options.on_reconciled = [&log, reported](const ReconcileReport& r) {
    // One line per change: what a registry entry went through, and why.
    for (const auto& c : r.changes) {
      log.info("registry reconciled with the cluster",
               {{"change", std::string(to_string(c.step))},
                {"connector", c.connector},
                server::LogField::num("serverId", static_cast<long long>(c.server_id))});
    }
    std::set<std::string> now;
    for (const auto& n : r.not_adopted) {
      const auto [it, added] = now.insert(n.connector + " " + std::to_string(n.server_id));
      if (added && !reported->contains(*it))
        log.warn("connector not adopted into the registry",
                 {{"connector", n.connector},
                  server::LogField::num("serverId", static_cast<long long>(n.server_id)),
                  {"reason", n.reason}});
    }
    *reported = std::move(now);
  };
  runtime_options.on_reconcile_error = [&log](const std::string& error) {
    log.warn("cannot reconcile the registry", {{"error", error}});
  };
  runtime_options.reporting_instance = runtime_options.lease.identity;
  // The rule counts, as last logged: told again only when they change.
  auto last_counts = std::make_shared<std::map<std::string, std::size_t>>();
  runtime_options.on_audited = [&log, last_counts](const CheckReport& report) {
    auto counts = violations_by_rule(report.violations);
    if (counts == *last_counts) return;
    std::erase_if(counts, [](const auto& c) { return c.second == 0; });
    std::vector<server::LogField> fields{
        server::LogField::num("connectors", static_cast<long long>(report.summary.connectors)),
        server::LogField::num("errors", static_cast<long long>(report.summary.errors)),
        server::LogField::num("warnings", static_cast<long long>(report.summary.warnings))};
    for (const auto& [rule, count] : counts)
      fields.push_back(server::LogField::num(rule, static_cast<long long>(count)));
    log.info("audit: violations among the running connectors", fields);
    *last_counts = violations_by_rule(report.violations);
  };
  runtime_options.on_event_error = [&log](const std::string& error) {
    log.warn("audit: cannot write a Warning Event", {{"error", error}});
  };
  runtime_options.on_leadership = [&log, identity = runtime_options.lease.identity](bool leading) {
    if (leading)
      log.info("leading: this replica reconciles", {{"identity", identity}});
    else
      log.warn("no longer leading: reconciling stopped", {{"identity", identity}});
  };
  std::unique_ptr<kube::ClusterRuntime> runtime;
  try {
    runtime = std::make_unique<kube::ClusterRuntime>(kube::resolve_cluster_config(config.kubeconfig),
                                                     runtime_options);
  } catch (const std::exception& e) {
    log.error("cannot start: no usable cluster configuration", {{"error", e.what()}});
    err << "cdc-guard serve: " << e.what() << "\n";
    return nullptr;
  }
  kube::ClusterRuntime* r = runtime.get();
  options.handler.cluster = [r] { return r->cache().snapshot(); };
  options.extra_metrics = [r] { return r->metrics(); };
  options.not_ready = [r] { return r->not_ready(); };
  log.info("cluster mode",
           {{"server", r->client().server()},
            {"source", r->client().config().source},
            {"registry", config.configmap_namespace + "/" + config.configmap_name},
            {"policy", config.split_mode() ? config.policy_namespace + "/" + config.policy_name
                                           : std::string("(none: the registry holds it)")}});
  return runtime;
}

timespec to_timespec(std::chrono::nanoseconds d) {
  return timespec{static_cast<time_t>(d.count() / 1000000000), static_cast<long>(d.count() % 1000000000)};
}

// Waits for SIGTERM or SIGINT, logging each change of readiness (one line
// when it changes, not one per tick). Returns the signal.
int wait_for_stop_signal(const sigset_t& stop_signals, std::chrono::milliseconds tick_length,
                         const server::ServerOptions& options, const kube::ClusterRuntime* runtime,
                         server::EventLog& log) {
  int signal_number = 0;
  std::optional<std::string> last_readiness;  // nothing logged yet
  while (signal_number <= 0) {
    const timespec tick = to_timespec(tick_length);
    signal_number = sigtimedwait(&stop_signals, nullptr, &tick);
    if (!options.not_ready) continue;
    const std::string why = options.not_ready();
    if (why == last_readiness) continue;
    if (why.empty())
      log.info("ready: registry ConfigMap read and cluster cache synced",
               {{"strimziVersion", runtime ? runtime->strimzi_version() : ""}});
    else
      log.warn("not ready", {{"reason", why}});
    log.flush();
    last_readiness = why;
  }
  return signal_number;
}

// DESIGN.md "Shutdown and overload": readiness off and `Connection: close`
// at once, serving on through the delay, then drain to the deadline.
void shut_down(server::WebhookServer& webhook, const ServeConfig& config, const sigset_t& stop_signals,
               int signal_number, server::EventLog& log) {
  const auto deadline = std::chrono::steady_clock::now() + config.server.shutdown_timeout;
  webhook.begin_shutdown();
  log.info(
      "shutting down: not ready, still serving",
      {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
       server::LogField::num(
           "delaySeconds", std::chrono::duration_cast<std::chrono::seconds>(config.shutdown_delay).count())});
  log.flush();
  if (config.shutdown_delay.count() > 0) {
    const timespec delay = to_timespec(config.shutdown_delay);
    if (sigtimedwait(&stop_signals, nullptr, &delay) > 0) log.info("second signal: the delay is cut short");
  }
  log.info("stopping: listeners closed, answering requests in flight");
  log.flush();
  webhook.stop(deadline);
}

}  // namespace

int run_serve(const std::vector<std::string>& args, Streams io) {
  ServeConfig config;
  try {
    config = parse_serve_args(args);
  } catch (const UsageError& e) {
    io.err << "cdc-guard serve: " << e.what() << "\n\n" << serve_help();
    return kExitUsage;
  }
  if (config.help) {
    io.out << serve_help();
    return kExitOk;
  }

  server::EventLog log(config.log_format, config.log_level);
  server::ServerOptions options = config.server;
  prepare_process(options, log);
  std::unique_ptr<kube::ClusterRuntime> runtime;
  std::unique_ptr<RegistryStore> file_store;
  if (config.cluster_mode()) {
    runtime = open_cluster(config, options, log, io.err);
    if (!runtime) return kExitUsage;
  } else {
    file_store = open_registry_file(config.registry_file, log, io.err);
    if (!file_store) return kExitUsage;
  }
  RegistryStore& store = runtime ? static_cast<RegistryStore&>(runtime->store()) : *file_store;

  // SIGTERM and SIGINT are taken by this thread with sigtimedwait; blocked
  // before any server thread exists, so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<server::WebhookServer> webhook;
  try {
    webhook = std::make_unique<server::WebhookServer>(options, store, log, [] {
      return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    });
    if (runtime) runtime->start();
    webhook->start();
  } catch (const std::exception& e) {
    log.error("cannot start", {{"error", e.what()}});
    io.err << "cdc-guard serve: " << e.what() << "\n";
    if (runtime) runtime->stop();
    return kExitUsage;
  }
  log.info("cdc-guard started",
           {{"version", kVersion},
            {"registry",
             runtime ? config.configmap_namespace + "/" + config.configmap_name : config.registry_file}});
  log.flush();

  // Readiness changes are logged within this.
  const auto tick_length = std::chrono::milliseconds(1000);
  const int signal_number = wait_for_stop_signal(stop_signals, tick_length, options, runtime.get(), log);
  // DESIGN.md "Shutdown and overload": the reconciler stops and the Lease is
  // released before anything else, so another replica takes over at once.
  if (runtime) {
    runtime->stop_reconciling();
    log.info("reconciler stopped", {server::LogField::flag("leaseReleased", config.leader_election)});
  }
  shut_down(*webhook, config, stop_signals, signal_number, log);
  if (runtime) runtime->stop();
  log.info("stopped");
  log.flush();
  return kExitOk;
}

}  // namespace cdcguard::cli
